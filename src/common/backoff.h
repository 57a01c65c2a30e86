// Exponential backoff for retry loops: initial, doubling up to max, reset
// after a success. Not thread-safe: one per loop.
#pragma once

#include <algorithm>
#include <chrono>

namespace aether {

class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max)
      : initial_(initial), max_(max), next_(initial) {}
  // The wait before the next attempt; the one after is twice as long.
  std::chrono::milliseconds Next() {
    std::chrono::milliseconds d = next_;
    next_ = std::min(max_, next_ * 2);
    return d;
  }
  void Reset() { next_ = initial_; }

 private:
  const std::chrono::milliseconds initial_, max_;
  std::chrono::milliseconds next_;
};

}  // namespace aether
