// A Clock for unit tests: time stands still until the test moves it with
// Advance(), which wakes every thread waiting on this clock so it sees the
// new time. Start at an arbitrary point far from zero (code may use a
// default-constructed time_point as "never").
//
// A thread computes a relative deadline (Now() + interval) when it starts
// to wait; a test that advances before that moment moves the deadline along
// with it. AwaitWaiters() closes that race: wait until the thread under test
// is parked in the clock, then Advance.
//
// Thread-safety: every method from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <list>
#include <mutex>

#include "common/clock.h"

namespace aether::testing {

class FakeClock final : public Clock {
 public:
  FakeClock();
  FakeClock(const FakeClock&) = delete;
  FakeClock& operator=(const FakeClock&) = delete;

  TimePoint Now() const override;
  WallTime WallNow() const override;
  bool WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                 TimePoint deadline, const std::function<bool()>& done) override;
  void SleepUntil(TimePoint t) override;

  // Moves both clocks forward by `d` (>= 0) and wakes every waiter, which
  // then checks its deadline and condition again.
  void Advance(Duration d);

  // Blocks, in real time, until at least `n` threads wait on this clock
  // with a deadline (not counting waits without one); false after
  // `timeout`.
  [[nodiscard]] bool AwaitWaiters(
      size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;
  // Threads waiting on this clock with a deadline.
  size_t waiters() const;

 private:
  struct Waiter {
    std::mutex* mu;
    std::condition_variable* cv;
    bool timed;
  };
  // Registers the caller's wait, with its lock released (see fake_clock.cc).
  std::list<Waiter>::iterator Register(std::unique_lock<std::mutex>& lock, Waiter w);
  void Unregister(std::unique_lock<std::mutex>& lock, std::list<Waiter>::iterator it);

  std::atomic<Duration::rep> elapsed_{0};  // since construction
  const TimePoint start_;
  const WallTime wall_start_;
  // Taken before any waiter's mutex, never while holding one.
  mutable std::mutex mu_;
  mutable std::condition_variable registered_;
  std::list<Waiter> waiters_;
  size_t timed_ = 0;
};

}  // namespace aether::testing
