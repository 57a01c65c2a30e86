// Private to src/wasm/wasi: every wait of a host call, bounded by the
// execution's deadline.
//
// The watchdog signals a guest's thread once when its deadline passes. A
// host call in a blocking system call returns EINTR then; but a signal that
// lands after the call checked hdr.unwind and before the kernel put it to
// sleep is lost, and the sleep would last forever. So no host call sleeps on
// the signal alone: it sleeps in ppoll with a timeout no later than the
// deadline (GuestDeadlineNs), re-checks hdr.unwind after every wake-up, and
// when it reaches the deadline first it sets hdr.unwind to
// AETHER_UNWIND_TIMEOUT itself (what the signal handler would have done) and
// returns EINTR; the glue then ends the execution with a timeout.
#pragma once

#include <poll.h>
#include <sys/uio.h>

#include <cstdint>

#include "wasm/wasi/wasi_internal.h"

namespace aether::wasm::wasi {

constexpr uint64_t kNever = UINT64_MAX;

// CLOCK_MONOTONIC now, in nanoseconds.
uint64_t MonotonicNs();

// Sets hdr.unwind to AETHER_UNWIND_TIMEOUT when the execution's deadline
// has passed. True when the execution is ending (unwind set, by the
// watchdog, proc_exit or here): a long host loop calls this between steps.
bool DeadlinePassed(void* ctx);

// One ppoll on `fds` that lasts until an fd is ready or CLOCK_MONOTONIC
// reaches `until` (kNever: no limit of its own), and never past the
// execution's deadline. kSuccess with *ready = ppoll's count (0: `until`
// came), kEintr when the execution is ending, or the errno of ppoll.
uint32_t WaitFds(void* ctx, struct pollfd* fds, nfds_t nfds, uint64_t until, int* ready);

// Whether I/O on `e` can wait for another party (a pipe, socket, terminal,
// FIFO): every type but regular files, directories and block devices.
inline bool MayBlock(const FdEntry& e) {
  return e.kind == FdKind::kHost && e.filetype != kFtRegularFile && e.filetype != kFtDirectory &&
         e.filetype != kFtBlockDevice;
}

// readv (`write` false) or writev on a host fd for which MayBlock() holds,
// with the blocking semantics the guest asked for (kFdflagNonblock: EAGAIN
// instead of a wait) but without ever sleeping past the deadline. A read
// returns what is there (at least one byte, or 0 at end of file); a blocking
// write moves all of `iov` unless the execution ends first. *done: bytes
// moved. `iov` is consumed.
uint32_t StreamIo(void* ctx, const FdEntry& e, bool write, struct iovec* iov, int count,
                  uint64_t* done);

}  // namespace aether::wasm::wasi
