// The durable, replicated log behind `at-least-once` workflows
// (docs/workflows.md, "Delivery"). An at-least-once cast is appended to the
// log before the sender hears OK (a guest's aether_cast returns, an
// http-ingress answers 202); the instances of the target component take
// events from one shared subscription and acknowledge each after handling
// it. An event not acknowledged within the log's ack wait (its instance
// died, its node was cut off) is delivered again, to whichever instance of
// the component pulls next, on any node. So an event survives the node it
// was queued on; it may be handled twice, and receivers drop repeats of
// ids they saw recently.
//
// jetstream_log.h implements it on NATS JetStream; tests use an in-memory
// one. Names: a workflow's events live in its own stream, named with its
// incarnation (so a workflow deleted and created again under the same name
// never sees the old one's events); one subject and one durable consumer
// per component.
//
// Thread-safety: every method from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace aether::workflow {

// Which workflow a stream (or a kv bucket) belongs to: its name and its
// incarnation (protocol::InstanceAssignment::incarnation; 0: none, for a
// workflow created before incarnations: the names without one). Converts
// from a name alone (incarnation 0), as tests and older callers pass it.
// Holds a view of the name: it lives as long as the call it is passed to.
struct WorkflowRef {
  WorkflowRef(std::string_view n, int64_t i = 0) : name(n), incarnation(i) {}
  WorkflowRef(const char* n) : name(n) {}
  WorkflowRef(const std::string& n) : name(n) {}
  std::string_view name;
  int64_t incarnation = 0;
};

// One event as the log keeps it.
struct LogEvent {
  // Unique per event (at most 64 bytes of [A-Za-z0-9_-]). A second append
  // of an id within the log's dedup window is acknowledged and not stored:
  // a sender that retries after a lost answer, or an instance that handles
  // an event again and casts the same derived ids, adds nothing.
  std::string id;
  std::string source;  // the sending component (≤ 255 bytes)
  std::string payload;
};

// An event handed to one subscriber. Exactly one of Ack, Nak, Term settles
// it; until then (and for at most the log's ack wait after the last
// Progress) no other subscriber gets it. Destroyed unsettled: delivered
// again after the ack wait.
class LogDelivery {
 public:
  virtual ~LogDelivery() = default;
  virtual const LogEvent& event() const = 0;
  // 1 on the first delivery, 2 on the first redelivery, ...
  virtual uint64_t attempt() const = 0;
  // Handled: never delivered again.
  virtual Status Ack() = 0;
  // Not handled: deliver again after `delay`.
  virtual Status Nak(std::chrono::milliseconds delay) = 0;
  // Never deliver again although not handled (a poison event).
  virtual Status Term() = 0;
  // Still being handled: restart the ack wait.
  virtual Status Progress() = 0;
};

// The shared subscription of one component: each event goes to one of the
// subscriptions open on it (on any node).
class LogSubscription {
 public:
  virtual ~LogSubscription() = default;
  // Up to `max` (≥ 1) events, waiting at most `wait` for the first; an
  // empty vector when none came. Unavailable while the log cannot be
  // reached (the caller backs off and fetches again); NotFound when the
  // stream or the consumer is gone (the caller subscribes again);
  // FailedPrecondition after Close().
  virtual Result<std::vector<std::unique_ptr<LogDelivery>>> Fetch(
      size_t max, std::chrono::milliseconds wait) = 0;
  // Makes a Fetch in progress return soon and every later one fail
  // (FailedPrecondition). Deliveries already handed out can still be settled.
  virtual void Close() = 0;
};

class EventLog {
 public:
  virtual ~EventLog() = default;
  // Creates the stream of `workflow` with the log's limits (idempotent:
  // an existing stream is kept, with its events).
  virtual Status EnsureWorkflow(WorkflowRef workflow) = 0;
  // Deletes the stream of `workflow` and every event still in it (the
  // workflow was deleted). OK when there was none.
  virtual Status DropWorkflow(WorkflowRef workflow) = 0;
  // Appends `event` for `component` of `workflow`; OK once the log stored
  // it (JetStream: on a majority of the stream's replicas). ResourceExhausted:
  // the stream is full; Unavailable: the log could not be reached before
  // `deadline`; NotFound: no stream (EnsureWorkflow first).
  virtual Status Append(WorkflowRef workflow, std::string_view component, const LogEvent& event,
                        std::chrono::steady_clock::time_point deadline) = 0;
  // Opens a subscription on `component`'s events (its durable consumer is
  // created on first use and shared by every subscription of the
  // component). NotFound: no stream.
  virtual Result<std::unique_ptr<LogSubscription>> Subscribe(WorkflowRef workflow,
                                                             std::string_view component) = 0;
};

}  // namespace aether::workflow
