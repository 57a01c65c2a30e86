#include "common/work_queue.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "common/testing/eventually.h"

namespace aether {
namespace {

using namespace std::chrono_literals;

// Generous: only a hung queue fails, never a slow machine.
constexpr auto kDeadline = 30s;

// A task that holds a queue thread until the test opens the gate, and tells
// the test when it started (so the test knows the thread is busy).
class Blocker {
 public:
  std::function<void()> Task() {
    auto started = std::make_shared<std::promise<void>>();
    started_.push_back(started->get_future());
    return [started, open = open_] {
      started->set_value();
      open.wait();
    };
  }
  // True when the n-th Task() started before the deadline.
  bool Started(size_t n) { return started_.at(n).wait_for(kDeadline) == std::future_status::ready; }
  void Open() { gate_.set_value(); }

 private:
  std::promise<void> gate_;
  std::shared_future<void> open_ = gate_.get_future().share();
  std::vector<std::future<void>> started_;
};

WorkQueueOptions Options(size_t threads, size_t max_tasks, uint64_t max_bytes) {
  WorkQueueOptions o;
  o.name = "test queue";
  o.threads = threads;
  o.max_tasks = max_tasks;
  o.max_bytes = max_bytes;
  return o;
}

TEST(WorkQueueTest, RunsInOrderAndBoundsTasks) {
  WorkQueue q(Options(1, 3, 0));
  Blocker b;
  ASSERT_TRUE(q.Post(b.Task()).ok());
  ASSERT_TRUE(b.Started(0));
  std::vector<int> ran;
  std::mutex mu;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(q.Post([&, i] {
                   std::lock_guard l(mu);
                   ran.push_back(i);
                 }).ok());
  }
  Status full = q.Post([] {});
  EXPECT_EQ(full.code(), Code::kResourceExhausted);
  EXPECT_EQ(full.message(), "test queue is full (3 waiting)");
  EXPECT_EQ(q.queued(), 3u);
  b.Open();
  q.Drain();  // runs the queued three, then joins
  EXPECT_EQ(ran, (std::vector<int>{0, 1, 2}));
  Status late = q.Post([] {});
  EXPECT_EQ(late.code(), Code::kFailedPrecondition);
  EXPECT_EQ(late.message(), "test queue is stopping");
}

TEST(WorkQueueTest, ByteBoundButOneBigTaskFits) {
  WorkQueue q(Options(1, 10, 100));
  Blocker b;
  ASSERT_TRUE(q.Post(b.Task(), 0).ok());
  ASSERT_TRUE(b.Started(0));
  EXPECT_TRUE(q.Post([] {}, 1000).ok()) << "an empty queue takes any size";
  EXPECT_EQ(q.Post([] {}, 1).code(), Code::kResourceExhausted);
  b.Open();
  q.Drain();
  // The bytes of tasks that ran are released.
  WorkQueue r(Options(1, 10, 100));
  Blocker c;
  ASSERT_TRUE(r.Post(c.Task(), 0).ok());
  ASSERT_TRUE(c.Started(0));
  EXPECT_TRUE(r.Post([] {}, 60).ok());
  EXPECT_TRUE(r.Post([] {}, 40).ok()) << "exactly max_bytes fits";
  EXPECT_EQ(r.Post([] {}, 1).code(), Code::kResourceExhausted);
  c.Open();
}

TEST(WorkQueueTest, NoByteBoundWhenZero) {
  WorkQueue q(Options(1, 10, 0));
  Blocker b;
  ASSERT_TRUE(q.Post(b.Task()).ok());
  ASSERT_TRUE(b.Started(0));
  EXPECT_TRUE(q.Post([] {}, 1ull << 40).ok());
  EXPECT_TRUE(q.Post([] {}, 1ull << 40).ok());
  b.Open();
}

TEST(WorkQueueTest, RunsOnAllThreads) {
  WorkQueue q(Options(3, 10, 0));
  Blocker b;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(q.Post(b.Task()).ok());
  // Three tasks running at once: each waits on the same gate.
  for (size_t i = 0; i < 3; ++i) EXPECT_TRUE(b.Started(i)) << i;
  EXPECT_EQ(q.queued(), 0u);
  b.Open();
}

TEST(WorkQueueTest, StopDropsQueuedTasksAndWaitsForTheRunningOne) {
  WorkQueue q(Options(1, 10, 1000));
  Blocker b;
  std::atomic<int> ran{0};
  ASSERT_TRUE(q.Post(b.Task(), 0).ok());
  ASSERT_TRUE(b.Started(0));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(q.Post([&] { ++ran; }, 1).ok());
  std::future<size_t> stopped = std::async(std::launch::async, [&] { return q.Stop(); });
  EXPECT_EQ(stopped.wait_for(50ms), std::future_status::timeout) << "waits for the running task";
  b.Open();
  ASSERT_EQ(stopped.wait_for(kDeadline), std::future_status::ready);
  EXPECT_EQ(stopped.get(), 5u);
  EXPECT_EQ(ran.load(), 0);
  EXPECT_EQ(q.Stop(), 0u) << "idempotent";
}

TEST(WorkQueueTest, DroppedTasksAreDestroyed) {
  auto witness = std::make_shared<int>(0);
  {
    WorkQueue q(Options(1, 10, 0));
    Blocker b;
    ASSERT_TRUE(q.Post(b.Task()).ok());
    ASSERT_TRUE(b.Started(0));
    ASSERT_TRUE(q.Post([witness] {}).ok());
    EXPECT_EQ(witness.use_count(), 2);
    // Stop while the first task still runs: opened first, the worker could
    // take the second task before Stop sees it.
    std::future<size_t> stopped = std::async(std::launch::async, [&] { return q.Stop(); });
    ASSERT_TRUE(aether::testing::Eventually([&] { return q.queued() == 0; }));
    b.Open();
    ASSERT_EQ(stopped.wait_for(kDeadline), std::future_status::ready);
    EXPECT_EQ(stopped.get(), 1u);
  }
  EXPECT_EQ(witness.use_count(), 1);
}

TEST(WorkQueueTest, AThrowingTaskIsLoggedAndTheQueueGoesOn) {
  std::ostringstream log;
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "test", std::make_shared<spdlog::sinks::ostream_sink_mt>(log)));
  {
    WorkQueue q(Options(1, 10, 0));
    ASSERT_TRUE(q.Post([] { throw std::runtime_error("disk on fire"); }).ok());
    ASSERT_TRUE(q.Post([] { throw 42; }).ok());
    std::promise<void> after;
    ASSERT_TRUE(q.Post([&] { after.set_value(); }).ok());
    EXPECT_EQ(after.get_future().wait_for(kDeadline), std::future_status::ready);
  }
  spdlog::set_default_logger(previous);
  EXPECT_NE(log.str().find("test queue: a task threw: disk on fire"), std::string::npos)
      << log.str();
  EXPECT_NE(log.str().find("test queue: a task threw a non-standard exception"), std::string::npos)
      << log.str();
}

}  // namespace
}  // namespace aether
