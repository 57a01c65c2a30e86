#include "engine/internal/dir_watcher.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "common/log.h"

namespace aether::engine {
namespace {

class InotifyWatcher final : public DirWatcher {
 public:
  InotifyWatcher(std::string dir, DirWatcherCallbacks callbacks, int inotify_fd, int wake_fd,
                 std::chrono::milliseconds poll_interval)
      : dir_(std::move(dir)),
        cb_(std::move(callbacks)),
        inotify_fd_(inotify_fd),
        wake_fd_(wake_fd),
        poll_interval_(poll_interval) {
    thread_ = std::thread([this] { Loop(); });
  }

  ~InotifyWatcher() override {
    uint64_t one = 1;
    // The eventfd wakes poll() at once; a failed write cannot happen for a
    // counter far from overflow, but the thread would still exit on its
    // next poll timeout.
    [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
    thread_.join();
    if (inotify_fd_ >= 0) ::close(inotify_fd_);
    ::close(wake_fd_);
  }

 private:
  void Loop() {
    pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {inotify_fd_, POLLIN, 0}};
    nfds_t nfds = inotify_fd_ >= 0 ? 2 : 1;
    int timeout = inotify_fd_ >= 0 ? -1 : static_cast<int>(poll_interval_.count());
    for (;;) {
      int n = ::poll(fds, nfds, timeout);
      if (n < 0 && errno != EINTR) {
        LOG_ERROR("watching {} failed: {}", dir_, std::strerror(errno));
        return;
      }
      if (fds[0].revents != 0) return;
      if (n == 0) {
        cb_.rescan();
        continue;
      }
      if (nfds == 2 && fds[1].revents != 0) Drain();
    }
  }

  void Drain() {
    alignas(inotify_event) char buf[16384];
    for (;;) {
      ssize_t len = ::read(inotify_fd_, buf, sizeof buf);
      if (len <= 0) return;  // EAGAIN: drained
      for (ssize_t off = 0; off < len;) {
        const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
        off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
        if (ev->mask & IN_Q_OVERFLOW) {
          LOG_WARN("inotify queue overflowed for {}; rescanning", dir_);
          cb_.rescan();
          continue;
        }
        if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
          LOG_WARN("functions directory {} was removed or moved; its functions stay loaded", dir_);
          continue;
        }
        if (ev->len == 0 || (ev->mask & IN_ISDIR)) continue;
        std::string name(ev->name);
        if (ev->mask & (IN_DELETE | IN_MOVED_FROM)) {
          cb_.removed(name);
        } else if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) {
          cb_.changed(name);
        }
      }
    }
  }

  std::string dir_;
  DirWatcherCallbacks cb_;
  int inotify_fd_;  // -1 in polling mode
  int wake_fd_;
  std::chrono::milliseconds poll_interval_;
  std::thread thread_;
};

}  // namespace

Result<std::unique_ptr<DirWatcher>> StartDirWatcher(std::string dir, DirWatcherCallbacks callbacks,
                                                    bool use_inotify,
                                                    std::chrono::milliseconds poll_interval) {
  int wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd < 0) return Internal(std::string("eventfd: ") + std::strerror(errno));
  int inotify_fd = -1;
  if (use_inotify) {
    inotify_fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    constexpr uint32_t kMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM |
                               IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;
    if (inotify_fd >= 0 && ::inotify_add_watch(inotify_fd, dir.c_str(), kMask) < 0) {
      ::close(inotify_fd);
      inotify_fd = -1;
    }
    if (inotify_fd < 0) {
      // Typically fs.inotify.max_user_watches / max_user_instances exhausted.
      LOG_WARN("cannot watch {} with inotify ({}); polling every {} ms instead", dir,
               std::strerror(errno), poll_interval.count());
    }
  }
  return std::unique_ptr<DirWatcher>(std::make_unique<InotifyWatcher>(
      std::move(dir), std::move(callbacks), inotify_fd, wake_fd, poll_interval));
}

}  // namespace aether::engine
