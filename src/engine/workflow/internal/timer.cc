#include "engine/workflow/internal/timer.h"

#include <utility>

namespace aether::engine::workflow::internal {

Timer::Timer() : thread_([this] { Loop(); }) {}

Timer::~Timer() { Stop(); }

void Timer::After(std::chrono::nanoseconds delay, std::function<void()> fn) {
  At(Clock::now() + delay, std::move(fn));
}

void Timer::At(Clock::time_point when, std::function<void()> fn) {
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;  // `fn` is destroyed here, outside no lock of the caller's
    wake = queue_.empty() || when < queue_.top().when;
    queue_.push(Entry{when, seq_++, std::move(fn)});
  }
  if (wake) cv_.notify_one();
}

size_t Timer::pending() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

void Timer::Stop() {
  std::vector<std::function<void()>> dropped;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    while (!queue_.empty()) {
      dropped.push_back(std::move(const_cast<Entry&>(queue_.top()).fn));
      queue_.pop();
    }
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  dropped.clear();  // outside the lock: a callback's captures may do anything
}

void Timer::Loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (queue_.empty()) {
      cv_.wait(lock);
      continue;
    }
    auto when = queue_.top().when;
    if (Clock::now() < when) {
      cv_.wait_until(lock, when);
      continue;
    }
    // priority_queue::top is const; the entry is popped right after.
    std::function<void()> fn = std::move(const_cast<Entry&>(queue_.top()).fn);
    queue_.pop();
    lock.unlock();
    fn();
    fn = nullptr;
    lock.lock();
  }
}

}  // namespace aether::engine::workflow::internal
