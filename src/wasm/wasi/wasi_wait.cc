// Waits bounded by the execution's deadline, and stream I/O built on them.

#include "wasm/wasi/wasi_wait.h"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>

#include "wasm/internal/guest_deadline.h"

namespace aether::wasm::wasi {
namespace {

// The execution's deadline on the MonotonicNs() clock; kNever when none.
uint64_t ExecDeadline() {
  int64_t d = GuestDeadlineNs();
  return d == INT64_MAX ? kNever : static_cast<uint64_t>(std::max<int64_t>(d, 0));
}

// How one attempt at stream I/O avoids blocking.
enum class Attempt {
  kNonBlocking,  // an fd the guest opened: path_open made it O_NONBLOCK on the host
  kNoWait,       // an inherited fd (not ours to change): RWF_NOWAIT
  kWhenReady,    // an inherited fd whose file lacks RWF_NOWAIT (terminals, FIFOs):
                 // only after poll said it is ready
};

ssize_t TryOnce(const FdEntry& e, bool write, const struct iovec* iov, int count, Attempt how) {
  if (how == Attempt::kNoWait) {
    return write ? pwritev2(e.host_fd, iov, count, -1, RWF_NOWAIT)
                 : preadv2(e.host_fd, iov, count, -1, RWF_NOWAIT);
  }
  if (how == Attempt::kWhenReady && write) {
    // Poll's POLLOUT on a pipe promises room for PIPE_BUF bytes, not more: a
    // bigger write to a blocking fd could sleep again.
    struct iovec first = {iov[0].iov_base, std::min<size_t>(iov[0].iov_len, PIPE_BUF)};
    return writev(e.host_fd, &first, 1);
  }
  return write ? writev(e.host_fd, iov, count) : readv(e.host_fd, iov, count);
}

uint32_t WaitFor(void* ctx, int fd, short events) {
  struct pollfd p = {fd, events, 0};
  int ready = 0;
  return WaitFds(ctx, &p, 1, kNever, &ready);
}

// Drops the first `n` bytes of the `*count` buffers at `*iov`.
void Consume(struct iovec** iov, int* count, size_t n) {
  while (*count > 0 && n >= (*iov)->iov_len) {
    n -= (*iov)->iov_len;
    ++*iov;
    --*count;
  }
  if (*count > 0 && n > 0) {
    (*iov)->iov_base = static_cast<char*>((*iov)->iov_base) + n;
    (*iov)->iov_len -= n;
  }
}

}  // namespace

uint64_t MonotonicNs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

bool DeadlinePassed(void* ctx) {
  if (ShouldStop(ctx)) return true;
  uint64_t deadline = ExecDeadline();
  if (deadline == kNever || MonotonicNs() < deadline) return false;
  Exec(ctx)->hdr.unwind = AETHER_UNWIND_TIMEOUT;
  return true;
}

uint32_t WaitFds(void* ctx, struct pollfd* fds, nfds_t nfds, uint64_t until, int* ready) {
  for (;;) {
    if (DeadlinePassed(ctx)) return kEintr;
    uint64_t deadline = ExecDeadline();
    uint64_t limit = std::min(until, deadline);
    struct timespec ts = {0, 0};
    if (limit != kNever) {
      uint64_t now = MonotonicNs();
      uint64_t wait = limit > now ? limit - now : 0;
      ts.tv_sec = static_cast<time_t>(wait / 1000000000ull);
      ts.tv_nsec = static_cast<long>(wait % 1000000000ull);
    }
    int n = ppoll(fds, nfds, limit == kNever ? nullptr : &ts, nullptr);
    if (n < 0) {
      if (errno == EINTR) continue;  // the next round sees why
      return HostErrno(errno);
    }
    // Woken by the execution's deadline, not by `until`: the next round
    // ends the call (or sleeps the rest of a wake-up that came early).
    if (n == 0 && deadline < until) continue;
    *ready = n;
    return kSuccess;
  }
}

uint32_t StreamIo(void* ctx, const FdEntry& e, bool write, struct iovec* iov, int count,
                  uint64_t* done) {
  const short event = write ? POLLOUT : POLLIN;
  const bool nonblock = e.fdflags & kFdflagNonblock;
  Attempt how = e.owned ? Attempt::kNonBlocking : Attempt::kNoWait;
  *done = 0;
  if (count == 0) return kSuccess;
  // A call that ends early still reports what it moved.
  auto end = [&](uint32_t err) { return *done > 0 ? uint32_t{kSuccess} : err; };
  for (;;) {
    if (ShouldStop(ctx)) return end(kEintr);
    if (how == Attempt::kWhenReady && !nonblock) {
      if (uint32_t err = WaitFor(ctx, e.host_fd, event)) return end(err);
    }
    ssize_t n = TryOnce(e, write, iov, count, how);
    if (n < 0) {
      int err = errno;
      if (how == Attempt::kNoWait && (err == EOPNOTSUPP || err == ENOSYS)) {
        how = Attempt::kWhenReady;
        continue;
      }
      if (err == EINTR) continue;
      if (err != EAGAIN) return end(HostErrno(err));
      if (nonblock) return end(kEagain);
      if (how != Attempt::kWhenReady) {
        if (uint32_t werr = WaitFor(ctx, e.host_fd, event)) return end(werr);
      }
      continue;
    }
    *done += static_cast<uint64_t>(n);
    // A read returns what is there; a blocking write goes on until all is out.
    if (!write || nonblock || n == 0) return kSuccess;
    Consume(&iov, &count, static_cast<size_t>(n));
    if (count == 0) return kSuccess;
  }
}

}  // namespace aether::wasm::wasi
