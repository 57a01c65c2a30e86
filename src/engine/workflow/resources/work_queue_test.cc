#include "engine/workflow/resources/work_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

namespace aether::engine::workflow::resources {
namespace {

using namespace std::chrono_literals;

// Whether the queue's thread has taken every queued task within 10 s: a
// stuck queue fails the test instead of hanging it.
bool Drained(const WorkQueue& q) {
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (q.queued() != 0) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

TEST(WorkQueueTest, RunsInOrderAndBoundsTasksAndBytes) {
  WorkQueue q(3, 100);
  std::promise<void> gate;
  std::shared_future<void> open = gate.get_future().share();
  std::vector<int> ran;
  std::mutex mu;
  ASSERT_TRUE(q.Post([open] { open.wait(); }, 0).ok());  // occupies the thread
  ASSERT_TRUE(Drained(q));
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(q.Post(
                     [&, i] {
                       std::lock_guard l(mu);
                       ran.push_back(i);
                     },
                     10)
                    .ok());
  }
  EXPECT_EQ(q.Post([] {}, 0).code(), Code::kResourceExhausted) << "max_tasks";
  gate.set_value();
  ASSERT_TRUE(Drained(q));
  EXPECT_EQ(q.Stop(), 0u);
  EXPECT_EQ(ran, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(q.Post([] {}, 0).code(), Code::kFailedPrecondition);
}

TEST(WorkQueueTest, ByteBoundButOneBigTaskFits) {
  WorkQueue q(10, 100);
  std::promise<void> gate;
  std::shared_future<void> open = gate.get_future().share();
  ASSERT_TRUE(q.Post([open] { open.wait(); }, 0).ok());
  ASSERT_TRUE(Drained(q));
  EXPECT_TRUE(q.Post([] {}, 1000).ok()) << "an empty queue takes any size";
  EXPECT_EQ(q.Post([] {}, 1).code(), Code::kResourceExhausted);
  gate.set_value();
  q.Stop();
}

TEST(WorkQueueTest, StopDropsQueuedTasks) {
  WorkQueue q(10, 1000);
  std::promise<void> gate;
  std::shared_future<void> open = gate.get_future().share();
  std::atomic<int> ran{0};
  ASSERT_TRUE(q.Post([open] { open.wait(); }, 0).ok());
  ASSERT_TRUE(Drained(q));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(q.Post([&] { ++ran; }, 1).ok());
  std::thread opener([&] {
    std::this_thread::sleep_for(50ms);
    gate.set_value();
  });
  EXPECT_EQ(q.Stop(), 5u);  // waits for the running task
  opener.join();
  EXPECT_EQ(ran.load(), 0);
  EXPECT_EQ(q.Stop(), 0u);
}

}  // namespace
}  // namespace aether::engine::workflow::resources
