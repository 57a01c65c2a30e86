#include "engine/executor.h"

#include <algorithm>
#include <thread>

#include "wasm/guest_thread.h"

namespace aether::engine {

Executor::Executor(ExecutorOptions options) {
  size_t n = options.workers;
  if (n == 0) n = std::max(1u, std::thread::hardware_concurrency());
  size_t q = options.queue_length != 0 ? options.queue_length : 64 * n;
  ring_.resize(q);
  worker_count_ = n;
  workers_.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    workers_.push_back(std::make_unique<wasm::GuestThread>([this] { WorkerLoop(); }));
  }
}

Executor::~Executor() { Stop(); }

bool Executor::TrySubmit(Task&& task) {
  {
    std::lock_guard lock(mu_);
    if (stopping_ || count_ == ring_.size()) return false;
    ring_[(head_ + count_) % ring_.size()] = std::move(task);
    ++count_;
  }
  // glibc's signal is a no-op without waiters, so no idle bookkeeping here.
  cv_.notify_one();
  return true;
}

void Executor::Stop() {
  std::vector<Task> dropped;
  {
    std::lock_guard lock(mu_);
    if (stopping_ && workers_.empty()) return;
    stopping_ = true;
    for (; count_ > 0; --count_, head_ = (head_ + 1) % ring_.size()) {
      dropped.push_back(std::move(ring_[head_]));
    }
  }
  dropped.clear();  // outside the lock: a task's destructor may do anything
  cv_.notify_all();
  for (auto& w : workers_) w->Join();
  workers_.clear();
}

size_t Executor::queue_depth() const {
  std::lock_guard lock(mu_);
  return count_;
}

size_t Executor::busy() const {
  std::lock_guard lock(mu_);
  return busy_;
}

void Executor::WorkerLoop() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || count_ != 0; });
    if (stopping_) return;
    Task task = std::move(ring_[head_]);
    ring_[head_] = nullptr;
    head_ = (head_ + 1) % ring_.size();
    --count_;
    ++busy_;
    lock.unlock();
    task();
    // Destroy the task's captures (e.g. a request's input) before sleeping.
    task = nullptr;
    lock.lock();
    --busy_;
  }
}

}  // namespace aether::engine
