#include "engine/executor.h"

#include <gtest/gtest.h>
#include <pthread.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "common/testing/eventually.h"

namespace aether::engine {
namespace {

size_t StackSize() {
  pthread_attr_t attr;
  size_t size = 0;
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    pthread_attr_getstacksize(&attr, &size);
    pthread_attr_destroy(&attr);
  }
  return size;
}

// Holds workers inside a task until Open().
class Gate {
 public:
  void Wait() {
    std::unique_lock lock(mu_);
    ++waiting_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
  }
  void WaitForWaiters(int n) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return waiting_ >= n; });
  }
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int waiting_ = 0;
  bool open_ = false;
};

TEST(ExecutorTest, RunsTasksOnGuestThreads) {
  Executor ex({.workers = 2, .queue_length = 4});
  std::promise<std::pair<std::thread::id, size_t>> where;
  ASSERT_TRUE(ex.TrySubmit([&] { where.set_value({std::this_thread::get_id(), StackSize()}); }));
  auto [id, stack] = where.get_future().get();
  EXPECT_NE(id, std::this_thread::get_id());
  // GuestThread's stack: 8 MiB (plus its guard), unlike a default std::thread's.
  EXPECT_GE(stack, 8u << 20);
}

TEST(ExecutorTest, DefaultsFollowTheCoreCount) {
  Executor ex({});
  size_t cores = std::max(1u, std::thread::hardware_concurrency());
  EXPECT_EQ(ex.workers(), cores);
  EXPECT_EQ(ex.queue_capacity(), 64 * cores);
}

// Waits until `counter` reaches `n` (tasks finish asynchronously); fails
// the test after 10 s instead of hanging it.
void WaitFor(const std::atomic<int>& counter, int n) {
  EXPECT_TRUE(aether::testing::Eventually([&] { return counter.load() >= n; }))
      << "counter at " << counter.load() << ", not " << n << ", after 10 s";
}

TEST(ExecutorTest, FullQueueIsRejectedAtOnce) {
  Executor ex({.workers = 1, .queue_length = 2});
  Gate gate;
  std::atomic<int> done{0};
  auto task = [&] {
    gate.Wait();
    done++;
  };
  ASSERT_TRUE(ex.TrySubmit(task));
  gate.WaitForWaiters(1);  // the worker is busy now
  EXPECT_EQ(ex.busy(), 1u);
  EXPECT_TRUE(ex.TrySubmit(task));
  EXPECT_TRUE(ex.TrySubmit(task));
  EXPECT_EQ(ex.queue_depth(), 2u);
  bool ran = false;
  Executor::Task rejected = [&] { ran = true; };
  EXPECT_FALSE(ex.TrySubmit(std::move(rejected)));
  // A refused task is left to the caller.
  ASSERT_TRUE(rejected);
  gate.Open();
  WaitFor(done, 3);
  EXPECT_FALSE(ran);
  EXPECT_EQ(ex.queue_depth(), 0u);
}

TEST(ExecutorTest, StopFinishesRunningTasksAndDropsQueuedOnes) {
  Executor ex({.workers = 1, .queue_length = 10});
  Gate gate;
  std::atomic<int> done{0};
  auto dropped = std::make_shared<int>(0);
  ASSERT_TRUE(ex.TrySubmit([&] {
    gate.Wait();
    done++;
  }));
  gate.WaitForWaiters(1);
  std::weak_ptr<int> watch = dropped;
  ASSERT_TRUE(ex.TrySubmit([&, dropped] { done += 100; }));
  dropped.reset();
  std::thread opener([&] {
    // Opens the gate while Stop() (on this thread) is already running, so
    // Stop must wait for the task; the executor shows no "stopping" state.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    gate.Open();
  });
  ex.Stop();
  opener.join();
  EXPECT_EQ(done.load(), 1);
  EXPECT_TRUE(watch.expired());  // the queued task was destroyed
  EXPECT_FALSE(ex.TrySubmit([] {}));
  ex.Stop();  // idempotent
}

TEST(ExecutorTest, ManyProducers) {
  Executor ex({.workers = 3, .queue_length = 10000});
  std::atomic<int> done{0};
  std::vector<std::thread> producers;
  for (int p = 0; p < 4; ++p) {
    producers.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) ASSERT_TRUE(ex.TrySubmit([&] { done++; }));
    });
  }
  for (auto& t : producers) t.join();
  WaitFor(done, 4000);
  ex.Stop();
  EXPECT_EQ(done.load(), 4000);
}

}  // namespace
}  // namespace aether::engine
