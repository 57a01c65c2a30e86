#include "common/testing/fake_clock.h"

namespace aether::testing {

// How a wake-up cannot be lost: a waiter checks the time while holding its
// own mutex and releases it only inside cv.wait(); Advance() moves the time
// first and then takes each waiter's mutex before notifying, so it lands
// either before the waiter's check (which then sees the new time) or after
// the waiter is inside cv.wait() (which the notify ends).
//
// Lock order: mu_ before a waiter's mutex. So a waiter registers and
// unregisters with its own mutex released, as a spurious wake-up would.

FakeClock::FakeClock()
    : start_(TimePoint() + std::chrono::hours(24 * 365)),
      wall_start_(std::chrono::sys_days(std::chrono::year(2024) / 1 / 1)) {}

Clock::TimePoint FakeClock::Now() const { return start_ + Duration(elapsed_.load()); }

Clock::WallTime FakeClock::WallNow() const {
  return wall_start_ + std::chrono::duration_cast<WallTime::duration>(Duration(elapsed_.load()));
}

bool FakeClock::WaitUntil(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                          TimePoint deadline, const std::function<bool()>& done) {
  if (done()) return true;
  if (Now() >= deadline) return false;
  auto it = Register(lock, Waiter{lock.mutex(), &cv, deadline != TimePoint::max()});
  while (!done() && Now() < deadline) cv.wait(lock);
  Unregister(lock, it);
  return done();
}

void FakeClock::SleepUntil(TimePoint t) {
  std::mutex mu;
  std::condition_variable cv;
  std::unique_lock lock(mu);
  WaitUntil(lock, cv, t, [] { return false; });
}

void FakeClock::Advance(Duration d) {
  if (d > Duration::zero()) elapsed_.fetch_add(d.count());
  std::lock_guard lock(mu_);
  for (const Waiter& w : waiters_) {
    { std::lock_guard waiter_lock(*w.mu); }
    w.cv->notify_all();
  }
}

bool FakeClock::AwaitWaiters(size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return registered_.wait_for(lock, timeout, [&] { return timed_ >= n; });
}

size_t FakeClock::waiters() const {
  std::lock_guard lock(mu_);
  return timed_;
}

std::list<FakeClock::Waiter>::iterator FakeClock::Register(std::unique_lock<std::mutex>& lock,
                                                           Waiter w) {
  lock.unlock();
  std::list<Waiter>::iterator it;
  {
    std::lock_guard guard(mu_);
    it = waiters_.insert(waiters_.end(), w);
    if (w.timed) ++timed_;
  }
  registered_.notify_all();
  lock.lock();
  return it;
}

void FakeClock::Unregister(std::unique_lock<std::mutex>& lock, std::list<Waiter>::iterator it) {
  lock.unlock();
  {
    std::lock_guard guard(mu_);
    if (it->timed) --timed_;
    waiters_.erase(it);
  }
  lock.lock();
}

}  // namespace aether::testing
