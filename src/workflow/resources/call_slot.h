// The answer slot of a call that a resource runs on its own thread (a
// WorkQueue task): the caller waits on it with its timeout; the task, or
// the task's destruction unrun (at Stop), fills it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "common/result.h"

namespace aether::workflow::resources {

// Set once: by the command, or with an error when the queued command is
// destroyed without running.
class CallSlot {
 public:
  void Set(Result<std::string> r) {
    {
      std::lock_guard lock(mu_);
      if (result_) return;
      result_.emplace(std::move(r));
    }
    cv_.notify_all();
  }
  std::optional<Result<std::string>> WaitFor(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [this] { return result_.has_value(); });
    return std::move(result_);
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<Result<std::string>> result_;
};

// Completes the slot with Unavailable(`stopped`) when the last copy of the
// task holding it goes away without having answered.
struct SlotGuard {
  SlotGuard(std::shared_ptr<CallSlot> s, std::string stopped)
      : slot(std::move(s)), stopped_message(std::move(stopped)) {}
  SlotGuard(const SlotGuard&) = delete;
  SlotGuard& operator=(const SlotGuard&) = delete;
  std::shared_ptr<CallSlot> slot;
  std::string stopped_message;
  ~SlotGuard() { slot->Set(Unavailable(stopped_message)); }
};

}  // namespace aether::workflow::resources
