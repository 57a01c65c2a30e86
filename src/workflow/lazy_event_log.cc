#include "workflow/lazy_event_log.h"

#include <utility>

namespace aether::workflow {

LazyEventLog::LazyEventLog(Connect connect, std::chrono::milliseconds retry)
    : connect_(std::move(connect)), retry_(retry) {}

Status LazyEventLog::ConnectNow() {
  std::unique_lock lock(mu_);
  if (log_ != nullptr) return OkStatus();
  if (connecting_) return Unavailable("the event log is being connected");
  return Attempt(lock);
}

Status LazyEventLog::Attempt(std::unique_lock<std::mutex>& lock) {
  connecting_ = true;
  lock.unlock();
  Result<std::unique_ptr<EventLog>> r = connect_();
  lock.lock();
  connecting_ = false;
  next_attempt_ = std::chrono::steady_clock::now() + retry_;
  if (!r.ok()) {
    last_error_ = r.status();
    return r.status();
  }
  log_ = std::move(*r);
  return OkStatus();
}

Result<std::shared_ptr<EventLog>> LazyEventLog::Get() {
  std::unique_lock lock(mu_);
  if (log_ != nullptr) return log_;
  if (connecting_ || std::chrono::steady_clock::now() < next_attempt_) {
    return Unavailable("the event log is not connected" +
                       (last_error_.ok() ? std::string() : ": " + last_error_.message()));
  }
  Status st = Attempt(lock);
  if (!st.ok()) return Unavailable("the event log is not connected: " + st.message());
  return log_;
}

Status LazyEventLog::EnsureWorkflow(WorkflowRef workflow) {
  ASSIGN_OR_RETURN(std::shared_ptr<EventLog> log, Get());
  return log->EnsureWorkflow(workflow);
}

Status LazyEventLog::DropWorkflow(WorkflowRef workflow) {
  ASSIGN_OR_RETURN(std::shared_ptr<EventLog> log, Get());
  return log->DropWorkflow(workflow);
}

Status LazyEventLog::Append(WorkflowRef workflow, std::string_view component, const LogEvent& event,
                            std::chrono::steady_clock::time_point deadline) {
  ASSIGN_OR_RETURN(std::shared_ptr<EventLog> log, Get());
  return log->Append(workflow, component, event, deadline);
}

Result<std::unique_ptr<LogSubscription>> LazyEventLog::Subscribe(WorkflowRef workflow,
                                                                 std::string_view component) {
  ASSIGN_OR_RETURN(std::shared_ptr<EventLog> log, Get());
  return log->Subscribe(workflow, component);
}

}  // namespace aether::workflow
