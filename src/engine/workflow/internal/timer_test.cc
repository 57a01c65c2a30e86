#include "engine/workflow/internal/timer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

namespace aether::engine::workflow::internal {
namespace {

using std::chrono::milliseconds;

TEST(TimerTest, RunsInDeadlineOrderAndFifoForEqualDeadlines) {
  Timer timer;
  std::mutex mu;
  std::vector<int> order;
  auto add = [&](int v) {
    return [&, v] {
      std::lock_guard lock(mu);
      order.push_back(v);
    };
  };
  auto at = Timer::Clock::now() + milliseconds(30);
  timer.At(at + milliseconds(10), add(3));
  timer.At(at, add(1));
  timer.At(at, add(2));
  std::this_thread::sleep_for(milliseconds(150));
  std::lock_guard lock(mu);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(timer.pending(), 0u);
}

TEST(TimerTest, CancelDropsThePendingCallback) {
  Timer timer;
  std::atomic<int> ran{0};
  uint64_t a = timer.After(milliseconds(50), [&] { ran += 1; });
  uint64_t b = timer.After(milliseconds(50), [&] { ran += 10; });
  EXPECT_EQ(timer.pending(), 2u);
  EXPECT_TRUE(timer.Cancel(a));
  EXPECT_FALSE(timer.Cancel(a));  // once
  EXPECT_EQ(timer.pending(), 1u);
  std::this_thread::sleep_for(milliseconds(150));
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

TEST(TimerTest, StopDropsPendingAndLaterOnesAreRefused) {
  Timer timer;
  std::atomic<bool> ran{false};
  timer.After(std::chrono::seconds(60), [&] { ran = true; });
  timer.Stop();
  EXPECT_EQ(timer.After(milliseconds(1), [&] { ran = true; }), 0u);
  EXPECT_FALSE(ran.load());
}

}  // namespace
}  // namespace aether::engine::workflow::internal
