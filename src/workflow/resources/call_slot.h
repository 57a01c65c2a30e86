// The answer slot of a call that a resource runs on its own thread (a
// WorkQueue task): the caller waits on it with its timeout; the task, or
// the task's destruction unrun (at Stop), fills it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "common/result.h"
#include "common/work_queue.h"

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

// Runs `command` on `queue` (its bytes: `bytes`) and waits up to `timeout`
// for its answer: the queue's error when it does not take it;
// DeadlineExceeded("<no_answer> within N ms") when the answer is late (the
// command may still run); Unavailable("<who>: the resource stopped") when
// the queue drops it at Stop.
inline Result<std::string> CallOnQueue(WorkQueue& queue,
                                       std::function<Result<std::string>()> command, uint64_t bytes,
                                       std::chrono::milliseconds timeout, std::string_view who,
                                       std::string_view no_answer) {
  auto slot = std::make_shared<CallSlot>();
  auto guard = std::make_shared<SlotGuard>(slot, std::string(who) + ": the resource stopped");
  RETURN_IF_ERROR(
      queue.Post([guard, command = std::move(command)] { guard->slot->Set(command()); }, bytes));
  guard.reset();  // the task holds the only copy now
  std::optional<Result<std::string>> r = slot->WaitFor(timeout);
  if (!r) {
    return DeadlineExceeded(std::string(no_answer) + " within " + std::to_string(timeout.count()) +
                            " ms");
  }
  return std::move(*r);
}

}  // namespace aether::workflow::resources
