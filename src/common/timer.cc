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
    // The loop looks at the queue again by wakes_at_ anyway: a later
    // deadline (a call's, seconds away) need not wake it.
    wake = when < wakes_at_;
    if (wake) ++wakeups_;
    last_at_ = std::chrono::steady_clock::now();
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
    Clock::TimePoint now = clock_.Now();
    if (!queue_.empty() && queue_.begin()->first.first <= now) {
      auto first = queue_.begin();
      std::function<void()> fn = std::move(first->second);
      when_.erase(first->first.second);
      queue_.erase(first);
      lock.unlock();
      fn();
      fn = nullptr;
      lock.lock();
      continue;
    }
    if (!queue_.empty()) {
      Clock::TimePoint until = queue_.begin()->first.first;
      wakes_at_ = until;
      // Until then, or an earlier callback arrives, or Stop.
      clock_.WaitUntil(lock, cv_, until, [&] {
        return stopping_ || (!queue_.empty() && queue_.begin()->first.first < until);
      });
    } else if (std::chrono::steady_clock::now() - last_at_ < kLinger) {
      // Nothing queued, but callbacks keep coming (each call registers its
      // deadline and cancels it when answered): look again after a tick
      // instead of being woken by each of them, a futex wake and a context
      // switch per call. In real time, so a test's clock sees no waiter.
      wakes_at_ = now + kIdleTick;
      cv_.wait_for(lock, kIdleTick, [&] {
        return stopping_ || (!queue_.empty() && queue_.begin()->first.first < wakes_at_);
      });
    } else {
      wakes_at_ = Clock::TimePoint::max();
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    }
    wakes_at_ = Clock::TimePoint::min();  // looking: no need to wake it
  }
}

uint64_t Timer::wakeups() const {
  std::lock_guard lock(mu_);
  return wakeups_;
}

}  // namespace aether
