// Waiting for room in a bounded structure (a mailbox, a queue, a link)
// that the caller guards with its own mutex: a full structure holds its
// producer until a slot frees or a deadline passes, instead of refusing it
// at once (the flow control of docs/workflows.md, "Backpressure").
//
//   std::unique_lock lock(mu_);
//   return room_.Wait(lock, wait_until, [&]() -> std::optional<Status> {
//     if (stopping_) return Unavailable("stopping");
//     if (items_.size() >= max_) return std::nullopt;  // no room yet
//     items_.push_back(...);
//     return OkStatus();
//   }, [&] { return ResourceExhausted("full"); });
//
// and where a slot frees, under the same lock: `room_.NotifyOne()`.
//
// The path without waiting is the caller's check under its lock and one
// read of the steady clock; a notify happens only when someone waits.
//
// Thread-safety: Wait, NotifyOne, NotifyAll and waiters() with the
// caller's mutex held (they read and write the waiter count it guards);
// WakeAll from any thread, with or without it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <utility>

#include "common/result.h"

namespace aether {

class RoomWaiter {
 public:
  // Calls `attempt` (under `lock`) until it returns an answer, waiting for
  // a notify between attempts; nullopt from `attempt` means "no room yet".
  // At `wait_until` (a time in the past: not at all) returns `full()`.
  // Spurious wake-ups only cost one more attempt.
  template <typename Attempt, typename Full>
  Status Wait(std::unique_lock<std::mutex>& lock, std::chrono::steady_clock::time_point wait_until,
              Attempt&& attempt, Full&& full) {
    for (;;) {
      if (std::optional<Status> answer = attempt()) return *std::move(answer);
      if (std::chrono::steady_clock::now() >= wait_until) return full();
      ++waiters_;
      cv_.wait_until(lock, wait_until);
      --waiters_;
    }
  }

  // A slot freed: one waiter tries again (NotifyAll: several slots freed,
  // or a change every waiter must see, such as a refusal).
  void NotifyOne() {
    if (waiters_ > 0) cv_.notify_one();
  }
  void NotifyAll() {
    if (waiters_ > 0) cv_.notify_all();
  }
  // Wakes every waiter whether or not the caller holds the lock (stopping:
  // set the flag the attempts check under the lock first).
  void WakeAll() { cv_.notify_all(); }

  int waiters() const { return waiters_; }

 private:
  std::condition_variable cv_;
  int waiters_ = 0;  // guarded by the caller's mutex
};

}  // namespace aether
