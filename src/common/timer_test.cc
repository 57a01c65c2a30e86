#include "common/timer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "common/testing/eventually.h"
#include "common/testing/fake_clock.h"

namespace aether {
namespace {

using aether::testing::Eventually;
using aether::testing::FakeClock;
using std::chrono::milliseconds;

TEST(TimerTest, RunsInDeadlineOrderAndFifoForEqualDeadlines) {
  FakeClock clock;
  Timer timer(clock);
  std::mutex mu;
  std::vector<int> order;
  auto add = [&](int v) {
    return [&, v] {
      std::lock_guard lock(mu);
      order.push_back(v);
    };
  };
  auto ran = [&] {
    std::lock_guard lock(mu);
    return order;
  };
  auto at = clock.Now() + milliseconds(30);
  timer.At(at + milliseconds(10), add(3));
  timer.At(at, add(1));
  timer.At(at, add(2));
  ASSERT_TRUE(clock.AwaitWaiters(1));
  EXPECT_TRUE(ran().empty()) << "nothing before its time";
  clock.Advance(milliseconds(30));
  ASSERT_TRUE(Eventually([&] { return ran().size() == 2; }));
  // Parked again, on the last one's deadline: it has not run early.
  ASSERT_TRUE(clock.AwaitWaiters(1));
  EXPECT_EQ(ran(), (std::vector<int>{1, 2}));
  clock.Advance(milliseconds(10));
  ASSERT_TRUE(Eventually([&] { return ran().size() == 3; }));
  EXPECT_EQ(ran(), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(timer.pending(), 0u);
}

TEST(TimerTest, CancelDropsThePendingCallback) {
  FakeClock clock;
  Timer timer(clock);
  std::atomic<int> ran{0};
  uint64_t a = timer.After(milliseconds(50), [&] { ran += 1; });
  uint64_t b = timer.After(milliseconds(50), [&] { ran += 10; });
  EXPECT_EQ(timer.pending(), 2u);
  EXPECT_TRUE(timer.Cancel(a));
  EXPECT_FALSE(timer.Cancel(a));  // once
  EXPECT_EQ(timer.pending(), 1u);
  ASSERT_TRUE(clock.AwaitWaiters(1));
  clock.Advance(milliseconds(50));
  ASSERT_TRUE(Eventually([&] { return ran.load() != 0; }));
  EXPECT_EQ(ran.load(), 10);
  EXPECT_FALSE(timer.Cancel(b));  // it ran
  EXPECT_FALSE(timer.Cancel(12345));
}

TEST(TimerTest, AnsweredCallsDoNotAccumulate) {
  Timer timer;
  for (int i = 0; i < 10000; ++i) {
    uint64_t id = timer.After(std::chrono::seconds(60), [] {});
    ASSERT_TRUE(timer.Cancel(id));
  }
  EXPECT_EQ(timer.pending(), 0u);
}

// Every workflow call registers its deadline and cancels it when answered.
// Waking the timer thread for each was a futex wake and a context switch per
// call; a steady stream of them must leave it on its own tick.
TEST(TimerTest, CallDeadlinesDoNotWakeTheThreadEach) {
  Timer timer;
  constexpr int kCalls = 2000;
  uint64_t before = timer.wakeups();
  for (int i = 0; i < kCalls; ++i) {
    uint64_t id = timer.After(std::chrono::seconds(5), [] {});
    // The call's round trip, during which the thread would go back to sleep.
    std::this_thread::sleep_for(std::chrono::microseconds(20));
    ASSERT_TRUE(timer.Cancel(id));
    std::this_thread::sleep_for(std::chrono::microseconds(20));
  }
  uint64_t wakeups = timer.wakeups() - before;
  EXPECT_LT(wakeups, kCalls / 10u) << wakeups << " wake-ups for " << kCalls << " calls";
}

// ... and a deadline earlier than its tick still runs on time.
TEST(TimerTest, AShortDeadlineRunsOnTimeWhileTheThreadTicks) {
  Timer timer;
  for (int i = 0; i < 100; ++i) timer.Cancel(timer.After(std::chrono::seconds(5), [] {}));
  std::atomic<bool> ran{false};
  auto t0 = std::chrono::steady_clock::now();
  std::atomic<int64_t> took_us{0};
  timer.After(milliseconds(2), [&] {
    took_us =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    ran = true;
  });
  ASSERT_TRUE(Eventually([&] { return ran.load(); }));
  EXPECT_GE(took_us.load(), 2000);
  EXPECT_LT(took_us.load(), 2000 * 1000) << "a 2 ms deadline took " << took_us.load() << " us";
}

TEST(TimerTest, StopDropsPendingAndLaterOnesAreRefused) {
  Timer timer;
  std::atomic<bool> ran{false};
  timer.After(std::chrono::seconds(60), [&] { ran = true; });
  timer.Stop();
  EXPECT_EQ(timer.After(milliseconds(1), [&] { ran = true; }), 0u);
  EXPECT_FALSE(ran.load());
}

}  // namespace
}  // namespace aether
