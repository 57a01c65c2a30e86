#include "common/clock.h"

#include <gtest/gtest.h>

#include <thread>

namespace aether {
namespace {

using std::chrono::milliseconds;

TEST(ClockTest, RealClockIsTheSteadyAndTheSystemClock) {
  Clock& clock = Clock::Real();
  auto before = std::chrono::steady_clock::now();
  auto now = clock.Now();
  EXPECT_LE(before, now);
  EXPECT_LE(now, std::chrono::steady_clock::now());
  auto wall = std::chrono::system_clock::now();
  EXPECT_LE(std::chrono::abs(clock.WallNow() - wall), std::chrono::seconds(60));
  EXPECT_EQ(&Clock::Real(), &clock);
}

TEST(ClockTest, DeadlineSaturates) {
  Clock& clock = Clock::Real();
  EXPECT_EQ(clock.Deadline(Clock::Duration::max()), Clock::TimePoint::max());
  EXPECT_EQ(clock.Deadline(Clock::Duration::max() - Clock::Duration(1)), Clock::TimePoint::max());
  auto before = clock.Now();
  auto past = clock.Deadline(milliseconds(-5));  // now, not earlier
  auto after = clock.Now();
  EXPECT_GE(past, before);
  EXPECT_LE(past, after);
}

TEST(ClockTest, RealWaitEndsWhenDoneOrAtTheDeadline) {
  Clock& clock = Clock::Real();
  std::mutex mu;
  std::condition_variable cv;
  bool flag = false;
  std::unique_lock lock(mu);
  // Already done: no wait.
  EXPECT_TRUE(clock.WaitFor(lock, cv, std::chrono::hours(1), [] { return true; }));
  // The deadline passes (lower bound only: the machine may be slow).
  auto start = clock.Now();
  EXPECT_FALSE(clock.WaitFor(lock, cv, milliseconds(20), [&] { return flag; }));
  EXPECT_GE(clock.Now() - start, milliseconds(20));
  EXPECT_TRUE(lock.owns_lock());
  // Another thread makes it true; no deadline at all.
  std::thread t([&] {
    std::lock_guard g(mu);
    flag = true;
    cv.notify_all();
  });
  EXPECT_TRUE(clock.WaitUntil(lock, cv, Clock::TimePoint::max(), [&] { return flag; }));
  lock.unlock();
  t.join();
}

TEST(ClockTest, RealSleep) {
  Clock& clock = Clock::Real();
  auto start = clock.Now();
  clock.SleepFor(milliseconds(5));
  EXPECT_GE(clock.Now() - start, milliseconds(5));
  clock.SleepUntil(start);  // in the past: returns at once
}

}  // namespace
}  // namespace aether
