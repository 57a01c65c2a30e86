// Time, as the code that decides by it sees it: heartbeats and node
// timeouts, backoff, timers, long-poll deadlines, rate limits. Code that
// compares times asks an injected Clock instead of std::chrono directly, so
// a unit test can swap in common/testing/fake_clock.h and move time by hand
// instead of sleeping (and stop depending on the machine's speed).
//
// What stays on the real clock on purpose, whatever is injected: guest
// execution budgets (the sandbox's watchdog interrupts a running guest in
// real time), socket and HTTP timeouts (Asio's own timers), and durations
// that are only measured for logs and metrics.
//
// Thread-safety: every method from any thread. Clock::Real() is stateless
// and lives for the whole process.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>

namespace aether {

class Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using Duration = std::chrono::steady_clock::duration;
  using WallTime = std::chrono::system_clock::time_point;

  virtual ~Clock() = default;

  // Monotonic time: for deadlines, intervals and timeouts.
  virtual TimePoint Now() const = 0;
  // Calendar time: only for timestamps people read or that are stored
  // (RFC 3339 in events and node lists); never for measuring intervals.
  virtual WallTime WallNow() const = 0;

  // Like cv.wait_until(lock, deadline, done), with the deadline on this
  // clock: returns once done() holds (true) or the deadline has passed
  // (done()'s value then). `lock` holds cv's mutex on entry and on return;
  // whoever makes done() true notifies `cv` as usual. TimePoint::max()
  // waits without a deadline.
  virtual bool WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                         TimePoint deadline, const std::function<bool()>& done) = 0;
  bool WaitFor(std::unique_lock<std::mutex>& lock, std::condition_variable& cv, Duration timeout,
               const std::function<bool()>& done) {
    return WaitUntil(lock, cv, Deadline(timeout), done);
  }

  // Blocks the calling thread until `t` (nothing can wake it earlier).
  virtual void SleepUntil(TimePoint t) = 0;
  void SleepFor(Duration d) { SleepUntil(Deadline(d)); }

  // Now() + d, saturating at TimePoint::max() (d may be "forever").
  TimePoint Deadline(Duration d) const;

  // The process's steady and system clocks.
  static Clock& Real();
};

}  // namespace aether
