// A fixed set of threads with a bounded queue, for work that blocks (store
// writes with fsync, forwarding to engines, compiles a request waits for)
// and so must stay off the HTTP IO threads.
//
// Thread-safety: Submit from any thread; Stop from one controlling thread,
// never from a pool thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace aether {

class ThreadPool {
 public:
  ThreadPool(size_t threads, size_t max_queue) : max_queue_(max_queue) {
    for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { Run(); });
  }
  ~ThreadPool() { Stop(); }
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // False when the queue is full or the pool stopped: the caller answers 503.
  [[nodiscard]] bool Submit(std::function<void()> task) {
    {
      std::lock_guard lock(mu_);
      if (stopping_ || queue_.size() >= max_queue_) return false;
      queue_.push_back(std::move(task));
    }
    cv_.notify_one();
    return true;
  }

  // Runs what is queued (or drops it, destroying the tasks, when
  // `run_queued` is false), then joins. Idempotent.
  void Stop(bool run_queued = true) {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      if (!run_queued) queue_.clear();
    }
    cv_.notify_all();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

 private:
  void Run() {
    while (true) {
      std::function<void()> task;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      // A task that throws must not take the process down; tasks that can
      // answer a client catch for themselves first.
      try {
        task();
      } catch (...) {
      }
    }
  }

  size_t max_queue_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace aether
