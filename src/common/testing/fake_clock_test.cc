#include "common/testing/fake_clock.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>
#include <vector>

#include "common/testing/eventually.h"

namespace aether::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(FakeClockTest, TimeStandsStillUntilAdvanced) {
  FakeClock clock;
  auto t0 = clock.Now();
  auto w0 = clock.WallNow();
  EXPECT_NE(t0, Clock::TimePoint{}) << "far from the \"never\" value";
  EXPECT_EQ(clock.Now(), t0);
  clock.Advance(milliseconds(1500));
  EXPECT_EQ(clock.Now() - t0, milliseconds(1500));
  EXPECT_EQ(clock.WallNow() - w0, milliseconds(1500));
  clock.Advance(milliseconds(-1));  // never backwards
  EXPECT_EQ(clock.Now() - t0, milliseconds(1500));
}

TEST(FakeClockTest, AWaiterWakesWhenItsDeadlinePasses) {
  FakeClock clock;
  std::mutex mu;
  std::condition_variable cv;
  auto deadline = clock.Now() + seconds(10);
  auto waited = std::async(std::launch::async, [&] {
    std::unique_lock lock(mu);
    bool done = clock.WaitUntil(lock, cv, deadline, [] { return false; });
    EXPECT_TRUE(lock.owns_lock());
    return done;
  });
  ASSERT_TRUE(clock.AwaitWaiters(1));
  clock.Advance(seconds(9));
  ASSERT_TRUE(clock.AwaitWaiters(1));
  EXPECT_EQ(waited.wait_for(milliseconds(20)), std::future_status::timeout) << "1 s left";
  clock.Advance(seconds(1));
  EXPECT_FALSE(waited.get());
  EXPECT_EQ(clock.waiters(), 0u);
}

TEST(FakeClockTest, AWaiterWakesWhenDoneWithoutTimePassing) {
  FakeClock clock;
  std::mutex mu;
  std::condition_variable cv;
  bool flag = false;
  auto waited = std::async(std::launch::async, [&] {
    std::unique_lock lock(mu);
    return clock.WaitFor(lock, cv, seconds(10), [&] { return flag; });
  });
  ASSERT_TRUE(clock.AwaitWaiters(1));
  {
    std::lock_guard lock(mu);
    flag = true;
  }
  cv.notify_all();
  EXPECT_TRUE(waited.get());
}

TEST(FakeClockTest, WaitsWithoutADeadlineAreNotCounted) {
  FakeClock clock;
  std::mutex mu;
  std::condition_variable cv;
  bool flag = false;
  std::thread t([&] {
    std::unique_lock lock(mu);
    clock.WaitUntil(lock, cv, Clock::TimePoint::max(), [&] { return flag; });
  });
  EXPECT_FALSE(clock.AwaitWaiters(1, milliseconds(20)));
  clock.Advance(std::chrono::hours(1000));  // wakes it, and it waits on
  {
    std::lock_guard lock(mu);
    flag = true;
  }
  cv.notify_all();
  t.join();
}

TEST(FakeClockTest, ExpiredDeadlineReturnsAtOnce) {
  FakeClock clock;
  std::mutex mu;
  std::condition_variable cv;
  std::unique_lock lock(mu);
  EXPECT_FALSE(clock.WaitUntil(lock, cv, clock.Now(), [] { return false; }));
  EXPECT_TRUE(clock.WaitUntil(lock, cv, clock.Now(), [] { return true; }));
  clock.SleepUntil(clock.Now());
  clock.SleepFor(milliseconds(0));
}

TEST(FakeClockTest, SleepersWakeInDeadlineOrder) {
  FakeClock clock;
  std::mutex mu;
  std::vector<int> woke;
  auto woken = [&] {
    std::lock_guard lock(mu);
    return woke.size();
  };
  std::vector<std::thread> threads;
  for (int i = 3; i >= 1; --i) {
    threads.emplace_back([&, i] {
      clock.SleepFor(seconds(i));
      std::lock_guard lock(mu);
      woke.push_back(i);
    });
  }
  ASSERT_TRUE(clock.AwaitWaiters(3));
  for (size_t i = 1; i <= 3; ++i) {
    clock.Advance(seconds(1));
    ASSERT_TRUE(Eventually([&] { return woken() == i; }));
    EXPECT_EQ(clock.waiters(), 3 - i) << "the others sleep on";
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(woke, (std::vector<int>{1, 2, 3}));
}

TEST(FakeClockTest, NoWakeUpIsLostToARace) {
  // One Advance per round, at whatever point the waiter has reached: a
  // wake-up lost between its check of the time and its wait would leave it
  // asleep with its deadline behind the clock, and Eventually would fail.
  FakeClock clock;
  const auto start = clock.Now();
  std::atomic<int> rounds{0};
  std::thread waiter([&] {
    std::mutex mu;
    std::condition_variable cv;
    for (int r = 1; r <= 300; ++r) {
      std::unique_lock lock(mu);
      clock.WaitUntil(lock, cv, start + milliseconds(r), [] { return false; });
      rounds.store(r);
    }
  });
  for (int r = 1; r <= 300; ++r) {
    clock.Advance(milliseconds(1));
    if (!Eventually([&] { return rounds.load() >= r; })) {
      ADD_FAILURE() << "lost the wake-up of round " << r;
      break;
    }
  }
  clock.Advance(seconds(1));  // every deadline behind: lets a stuck waiter finish
  waiter.join();
}

}  // namespace
}  // namespace aether::testing
