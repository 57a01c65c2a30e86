// Ctrl-C for `aether bench`: SIGINT and SIGTERM become a flag that the run
// polls, so it can delete its workflows before it exits.
#pragma once

#include <signal.h>

#include <atomic>
#include <thread>

namespace aether::cli::bench {

// While it lives, SIGINT and SIGTERM are blocked in the thread that made it
// (and in threads started after, which inherit the mask) and taken by a
// thread of its own with sigtimedwait: no handler, no global state. Make it
// before starting other threads; the old mask is restored on destruction.
class InterruptWatch {
 public:
  InterruptWatch();
  ~InterruptWatch();
  InterruptWatch(const InterruptWatch&) = delete;
  InterruptWatch& operator=(const InterruptWatch&) = delete;

  const std::atomic<bool>& interrupted() const { return interrupted_; }

 private:
  sigset_t set_{};
  sigset_t old_{};
  std::atomic<bool> interrupted_{false};
  std::jthread thread_;
};

}  // namespace aether::cli::bench
