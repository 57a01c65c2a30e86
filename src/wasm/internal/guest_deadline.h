// The deadline of the guest call running on the calling thread, for host
// functions that block. The watchdog signals a thread only once: a signal
// that lands after a host call checked hdr.unwind and before it blocked is
// lost to it, so a host call that sleeps bounds the sleep by this deadline
// itself (src/wasm/wasi/wasi_wait.h).
#pragma once

#include <cstdint>

namespace aether::wasm {

// CLOCK_MONOTONIC nanoseconds at which the guest call on this thread times
// out; INT64_MAX when the thread runs no guest call under a watchdog. Any
// thread; reads only the thread's own state.
int64_t GuestDeadlineNs();

}  // namespace aether::wasm
