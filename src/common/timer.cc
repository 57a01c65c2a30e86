#include "common/timer.h"

#include <utility>

namespace aether {

Timer::Timer(Clock& clock) : clock_(clock), thread_([this] { Loop(); }) {}

Timer::~Timer() { Stop(); }

uint64_t Timer::After(std::chrono::nanoseconds delay, std::function<void()> fn) {
  return At(clock_.Deadline(delay), std::move(fn));
}

uint64_t Timer::At(Clock::TimePoint when, std::function<void()> fn) {
  bool wake = false;
  uint64_t id = 0;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return 0;  // `fn` is destroyed here, outside no lock of the caller's
    wake = queue_.empty() || when < queue_.begin()->first.first;
    id = ++seq_;
    queue_.emplace(Key{when, id}, std::move(fn));
    when_.emplace(id, when);
  }
  if (wake) cv_.notify_one();
  return id;
}

bool Timer::Cancel(uint64_t id) {
  std::function<void()> dropped;  // destroyed outside the lock
  std::lock_guard lock(mu_);
  auto w = when_.find(id);
  if (w == when_.end()) return false;
  auto it = queue_.find(Key{w->second, id});
  when_.erase(w);
  if (it == queue_.end()) return false;
  dropped = std::move(it->second);
  queue_.erase(it);
  return true;
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
    for (auto& [key, fn] : queue_) dropped.push_back(std::move(fn));
    queue_.clear();
    when_.clear();
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
    auto first = queue_.begin();
    auto when = first->first.first;
    if (clock_.Now() < when) {
      // Until `when`, or an earlier callback arrives, or Stop.
      clock_.WaitUntil(lock, cv_, when, [&] {
        return stopping_ || queue_.empty() || queue_.begin()->first.first < when;
      });
      continue;
    }
    std::function<void()> fn = std::move(first->second);
    when_.erase(first->first.second);
    queue_.erase(first);
    lock.unlock();
    fn();
    fn = nullptr;
    lock.lock();
  }
}

}  // namespace aether
