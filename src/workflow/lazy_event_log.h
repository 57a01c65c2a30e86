// An EventLog that connects when first needed: an engine starts (and
// serves /execute) while NATS is still away, and its at-least-once
// instances get Unavailable — which they retry with backoff — until a
// connection attempt succeeds. Attempts are spaced by `retry`; a call made
// while one is in progress answers Unavailable at once instead of waiting
// for it. Once connected, the connection's own reconnects take over (the
// JetStream client reconnects forever).
//
// Thread-safety: every method from any thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>

#include "workflow/event_log.h"

namespace aether::workflow {

class LazyEventLog : public EventLog {
 public:
  using Connect = std::function<Result<std::unique_ptr<EventLog>>()>;

  explicit LazyEventLog(Connect connect, std::chrono::milliseconds retry = std::chrono::seconds(1));

  // Tries to connect now (the engine's startup): the result of the attempt.
  Status ConnectNow();

  Status EnsureWorkflow(WorkflowRef workflow) override;
  Status DropWorkflow(WorkflowRef workflow) override;
  Status Append(WorkflowRef workflow, std::string_view component, const LogEvent& event,
                std::chrono::steady_clock::time_point deadline) override;
  Result<std::unique_ptr<LogSubscription>> Subscribe(WorkflowRef workflow,
                                                     std::string_view component) override;

 private:
  // The connected log, or why there is none yet.
  Result<std::shared_ptr<EventLog>> Get();
  Status Attempt(std::unique_lock<std::mutex>& lock);

  const Connect connect_;
  const std::chrono::milliseconds retry_;
  std::mutex mu_;
  std::shared_ptr<EventLog> log_;
  bool connecting_ = false;
  std::chrono::steady_clock::time_point next_attempt_{};
  Status last_error_;
};

}  // namespace aether::workflow
