#include "wasm/internal/guest_deadline.h"

#include "wasm/internal/thread_state.h"

namespace aether::wasm {

int64_t GuestDeadlineNs() {
  ThreadState* st = CurrentThreadState();
  // Both fields are written by this same thread (ArmWatchdog, DisarmWatchdog).
  if (st == nullptr || st->armed.load(std::memory_order_acquire) == 0) return INT64_MAX;
  return st->deadline_ns.load(std::memory_order_relaxed);
}

}  // namespace aether::wasm
