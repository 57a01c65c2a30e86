// poll_oneoff: clock timeouts and fd readiness in one ppoll, bounded by the
// execution's deadline (wasi_wait.h).

#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <vector>

#include "wasm/wasi/wasi_internal.h"
#include "wasm/wasi/wasi_wait.h"

namespace aether::wasm::wasi {
namespace {

constexpr uint8_t kEventClock = 0;
constexpr uint8_t kEventFdRead = 1;
constexpr uint8_t kEventFdWrite = 2;
constexpr uint16_t kSubclockAbstime = 1;
constexpr uint16_t kEventFdReadwriteHangup = 1;
// Subscriptions per call. The host keeps ~70 bytes per subscription while it
// waits; without a cap that is 1.5x the guest's memory. Linux's poll()
// likewise refuses more descriptors than RLIMIT_NOFILE with EINVAL.
constexpr uint32_t kMaxSubscriptions = 4096;

uint64_t Now(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

struct Event {
  uint64_t userdata = 0;
  uint16_t error = 0;
  uint8_t type = 0;
  uint64_t nbytes = 0;
  uint16_t flags = 0;
};

struct Pending {
  uint64_t userdata;
  uint8_t type;
  uint64_t deadline;  // CLOCK_MONOTONIC ns, for clock subscriptions
  int poll_index;     // into the pollfd array, for fd subscriptions
  int host_fd;
};

void Put(uint8_t* out, const Event& ev) {
  std::memset(out, 0, kEventSize);
  Store<uint64_t>(out, ev.userdata);
  Store<uint16_t>(out + 8, ev.error);
  out[10] = ev.type;
  Store<uint64_t>(out + 16, ev.nbytes);
  Store<uint16_t>(out + 24, ev.flags);
}

// Bytes a read would return now; 0 when the host cannot tell.
uint64_t Readable(int fd) {
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    off_t pos = lseek(fd, 0, SEEK_CUR);
    return pos >= 0 && st.st_size > pos ? static_cast<uint64_t>(st.st_size - pos) : 0;
  }
  int n = 0;
  return ioctl(fd, FIONREAD, &n) == 0 && n > 0 ? static_cast<uint64_t>(n) : 0;
}

// The monotonic deadline of a clock subscription, or an errno.
uint32_t Deadline(uint32_t clock_id, uint64_t timeout, uint16_t flags, uint64_t now_mono,
                  uint64_t* deadline) {
  bool absolute = flags & kSubclockAbstime;
  switch (clock_id) {
    case 0:  // realtime: an absolute time becomes a distance from now
      if (absolute) {
        uint64_t now_real = Now(CLOCK_REALTIME);
        timeout = timeout > now_real ? timeout - now_real : 0;
      }
      break;
    case 1:
      if (absolute) {
        *deadline = timeout;
        return kSuccess;
      }
      break;
    case 2:
    case 3:
      // A CPU-time deadline cannot be slept on; a relative one is taken as
      // wall time, an upper bound on the CPU time that passes.
      if (absolute) return kEnotsup;
      break;
    default:
      return kEinval;
  }
  *deadline = timeout > kNever - now_mono ? kNever : now_mono + timeout;
  return kSuccess;
}

uint32_t PollOneoff(void* ctx, uint32_t in_ptr, uint32_t out_ptr, uint32_t nsubs,
                    uint32_t nevents_ptr) {
  return Guarded([&]() -> uint32_t {
    if (nsubs == 0 || nsubs > kMaxSubscriptions) return kEinval;
    ExecContext* ec = Exec(ctx);
    const uint8_t* in = GuestPtr(ec, in_ptr, static_cast<uint64_t>(nsubs) * kSubscriptionSize);
    uint8_t* out = GuestPtr(ec, out_ptr, static_cast<uint64_t>(nsubs) * kEventSize);
    uint8_t* nevents_out = GuestPtr(ec, nevents_ptr, 4);
    if (in == nullptr || out == nullptr || nevents_out == nullptr) return kEfault;
    WasiCtxImpl* w = Wasi(ctx);
    if (w == nullptr) return kEnosys;

    // Everything is read before any event is written: the guest may pass
    // overlapping arrays.
    std::vector<Event> ready;
    std::vector<Pending> pending;
    std::vector<struct pollfd> pfds;
    uint64_t now = MonotonicNs();
    for (uint32_t i = 0; i < nsubs; ++i) {
      const uint8_t* s = in + i * kSubscriptionSize;
      uint64_t userdata = Load<uint64_t>(s);
      uint8_t type = s[8];
      if (type == kEventClock) {
        uint64_t deadline;
        uint32_t err = Deadline(Load<uint32_t>(s + 16), Load<uint64_t>(s + 24),
                                Load<uint16_t>(s + 40), now, &deadline);
        if (err != kSuccess) {
          ready.push_back({userdata, static_cast<uint16_t>(err), type, 0, 0});
        } else {
          pending.push_back({userdata, type, deadline, -1, -1});
        }
        continue;
      }
      if (type != kEventFdRead && type != kEventFdWrite) return kEinval;
      uint32_t fd = Load<uint32_t>(s + 16);
      FdEntry* e = w->Get(fd);
      Event ev{userdata, 0, type, 0, 0};
      if (e == nullptr) {
        ev.error = kEbadf;
      } else if (!e->has(kRightPollFdReadwrite)) {
        ev.error = kEnotcapable;
      } else if (e->kind == FdKind::kStdinCapture) {
        if (type == kEventFdRead) {
          ev.nbytes = w->stdin_data.size() - w->stdin_pos;
        } else {
          ev.error = kEbadf;
        }
      } else if (e->kind != FdKind::kHost) {  // captured stdout / stderr
        if (type == kEventFdWrite) {
          const std::string& sink =
              e->kind == FdKind::kStdoutCapture ? w->stdout_data() : w->stderr_data();
          ev.nbytes = w->output_sink                ? w->max_output
                      : sink.size() < w->max_output ? w->max_output - sink.size()
                                                    : 0;
        } else {
          ev.error = kEbadf;
        }
      } else {
        short want = type == kEventFdRead ? POLLIN : POLLOUT;
        pending.push_back({userdata, type, kNever, static_cast<int>(pfds.size()), e->host_fd});
        pfds.push_back({e->host_fd, want, 0});
        continue;
      }
      ready.push_back(ev);
    }

    for (;;) {
      uint64_t earliest = kNever;
      for (const Pending& p : pending) earliest = std::min(earliest, p.deadline);
      // With events already in hand, only look at the fds without waiting.
      int n = 0;
      if (uint32_t err = WaitFds(ctx, pfds.data(), pfds.size(), ready.empty() ? earliest : 0, &n)) {
        return err;
      }
      now = MonotonicNs();
      for (const Pending& p : pending) {
        Event ev{p.userdata, 0, p.type, 0, 0};
        if (p.poll_index < 0) {
          if (p.deadline > now) continue;
        } else {
          short revents = pfds[p.poll_index].revents;
          if (revents == 0) continue;
          if (revents & POLLNVAL) {
            ev.error = kEbadf;
          } else if ((revents & POLLERR) && !(revents & (POLLIN | POLLOUT))) {
            ev.error = kEio;
          } else {
            if (revents & POLLHUP) ev.flags = kEventFdReadwriteHangup;
            if (p.type == kEventFdRead) ev.nbytes = Readable(p.host_fd);
          }
        }
        ready.push_back(ev);
      }
      if (!ready.empty()) break;
      // Woke without an event (a timer that fired a hair early): wait again.
    }

    uint32_t count = std::min<uint32_t>(static_cast<uint32_t>(ready.size()), nsubs);
    for (uint32_t i = 0; i < count; ++i) Put(out + i * kEventSize, ready[i]);
    Store<uint32_t>(nevents_out, count);
    return kSuccess;
  });
}

}  // namespace

void RegisterWasiPoll(HostRegistry& r) { AddFn(r, "poll_oneoff", "i:iiii", PollOneoff); }

}  // namespace aether::wasm::wasi
