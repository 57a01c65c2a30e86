// One thread that runs callbacks at their deadlines, on an injected Clock (a
// test passes common/testing/fake_clock.h). The workflow runtime's delayed
// casts, restart backoff, start retries and call deadlines share one (so a
// node with many instances still has one timer thread); the engine's API uses
// one for the deadlines of requests waiting on a module load.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>

#include "common/clock.h"

namespace aether {

// Thread-safety: After from any thread (also from a callback); Stop and the
// destructor from one controlling thread, never from a callback.
class Timer {
 public:
  // Times are on `clock`, which outlives the timer.
  explicit Timer(Clock& clock = Clock::Real());
  ~Timer();  // Stop()
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  // Runs `fn` on the timer thread once `delay` has passed. Callbacks must be
  // short (they hand work to a mailbox or the pool). After Stop the callback
  // is dropped without running. Returns an id for Cancel (0 after Stop).
  uint64_t After(std::chrono::nanoseconds delay, std::function<void()> fn);
  uint64_t At(Clock::TimePoint when, std::function<void()> fn);

  // Drops the pending callback `id` without running it (a call answered
  // before its deadline), so answered calls do not hold memory until their
  // deadline. False when it ran, is running, or was cancelled already.
  bool Cancel(uint64_t id);

  // Drops the pending callbacks (destroying them) and joins the thread.
  void Stop();

  size_t pending() const;
  // How many callbacks woke the thread when they were added (tests).
  uint64_t wakeups() const;

 private:
  static constexpr std::chrono::milliseconds kIdleTick{50};
  static constexpr std::chrono::seconds kLinger{2};
  using Key = std::pair<Clock::TimePoint, uint64_t>;  // (when, id): ids keep FIFO order
  void Loop();

  Clock& clock_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<Key, std::function<void()>> queue_;
  std::unordered_map<uint64_t, Clock::TimePoint> when_;  // id -> its key's time, for Cancel
  uint64_t seq_ = 0;
  // When the thread looks at the queue next (max: only when woken; min:
  // it is looking now). An earlier callback wakes it, a later one need not.
  Clock::TimePoint wakes_at_ = Clock::TimePoint::min();
  std::chrono::steady_clock::time_point last_at_{};  // the last At, in real time
  uint64_t wakeups_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace aether
