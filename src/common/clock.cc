#include "common/clock.h"

#include <thread>

namespace aether {
namespace {

class RealClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::steady_clock::now(); }
  WallTime WallNow() const override { return std::chrono::system_clock::now(); }

  bool WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                 TimePoint deadline, const std::function<bool()>& done) override {
    // wait_until converts the deadline to the kernel's clock, which
    // overflows for time_point::max().
    if (deadline == TimePoint::max()) {
      cv.wait(lock, done);
      return true;
    }
    return cv.wait_until(lock, deadline, done);
  }

  void SleepUntil(TimePoint t) override { std::this_thread::sleep_until(t); }
};

}  // namespace

Clock::TimePoint Clock::Deadline(Duration d) const {
  TimePoint now = Now();
  if (d <= Duration::zero()) return now;
  if (d >= TimePoint::max() - now) return TimePoint::max();
  return now + d;
}

Clock& Clock::Real() {
  // Stateless, so not the mutable global the conventions forbid.
  static RealClock clock;
  return clock;
}

}  // namespace aether
