// One thread that runs callbacks at a time: delayed casts, restart backoff,
// start retries and the deadlines of asynchronous calls share it, so a node
// with many instances still has one timer thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <queue>
#include <thread>
#include <vector>

namespace aether::engine::workflow::internal {

// Thread-safety: After from any thread (also from a callback); Stop and the
// destructor from one controlling thread, never from a callback.
class Timer {
 public:
  using Clock = std::chrono::steady_clock;

  Timer();
  ~Timer();  // Stop()
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  // Runs `fn` on the timer thread once `delay` has passed. Callbacks must be
  // short (they hand work to a mailbox or the pool). After Stop the callback
  // is dropped without running.
  void After(std::chrono::nanoseconds delay, std::function<void()> fn);
  void At(Clock::time_point when, std::function<void()> fn);

  // Drops the pending callbacks (destroying them) and joins the thread.
  void Stop();

  size_t pending() const;

 private:
  struct Entry {
    Clock::time_point when;
    uint64_t seq;
    std::function<void()> fn;
    bool operator>(const Entry& o) const {
      return when != o.when ? when > o.when : seq > o.seq;
    }
  };
  void Loop();

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> queue_;
  uint64_t seq_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace aether::engine::workflow::internal
