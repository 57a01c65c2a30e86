// Appends to JetStream with many publishes in flight on one connection:
// each caller publishes its event with a reply subject of its own under one
// inbox and waits for the PubAck there, so concurrent Appends (pool
// workers, guests casting) share the connection's round trips instead of
// each holding a request open in turn. The caller still returns only once
// the server answered for its event.
//
// Why not libnats' js_PublishMsgAsync: its ack callback runs on a
// subscription the jsCtx owns, with no way to know when the last callback
// has returned (so no safe moment to free what it points to), and a
// message whose PubAck was lost with the connection stays in its pending
// list until a library timer fires. Here the inbox subscription is ours:
// its on-complete callback says when no more replies come, and each
// caller owns its own deadline.
//
// Connection loss: a publish made while the link is down waits in the
// client's reconnect buffer and goes out on reconnect; a PubAck lost with
// the link is made up for by publishing the event again after the
// reconnect (same Nats-Msg-Id, so the server stores it once), until the
// caller's deadline. A caller never hears OK for an event the server did
// not confirm.
//
// Private to workflow/jetstream_log.cc. Thread-safety: Publish from any
// thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "common/result.h"
#include "workflow/event_log.h"
#include "workflow/internal/nats_connection.h"

namespace aether::workflow::internal {

// The headers an event travels with: its id (the server drops a second
// publish of it within the dedup window) and its source.
inline constexpr const char* kMsgIdHeader = "Nats-Msg-Id";
inline constexpr const char* kSourceHeader = "Aether-Source";

class JetStreamPublisher {
 public:
  // Subscribes to a fresh inbox on `conn`. At most `max_in_flight` (≥ 1)
  // publishes wait for their PubAck at once; more wait for room.
  static Result<std::unique_ptr<JetStreamPublisher>> Start(std::shared_ptr<NatsConnection> conn,
                                                           size_t max_in_flight);
  // Unsubscribes and waits until the inbox's callback has returned for the
  // last time. Publish calls must have returned.
  ~JetStreamPublisher();
  JetStreamPublisher(const JetStreamPublisher&) = delete;
  JetStreamPublisher& operator=(const JetStreamPublisher&) = delete;

  // What the server answered for one publish.
  struct Outcome {
    Status status;               // OK: stored (or a duplicate of a stored id)
    bool no_responders = false;  // nobody listens on the subject (no stream?)
  };

  // Publishes `event` on `subject` (Nats-Msg-Id = event.id; Aether-Source;
  // Nats-Expected-Stream = `stream`) and waits for the server's answer
  // until `deadline`. Unavailable when no answer came in time (room to
  // publish, or the PubAck), or the connection is closed.
  Outcome Publish(const std::string& subject, const std::string& stream, const LogEvent& event,
                  std::chrono::steady_clock::time_point deadline);

 private:
  struct State;
  JetStreamPublisher(std::shared_ptr<NatsConnection> conn, std::unique_ptr<State> state);

  const std::shared_ptr<NatsConnection> conn_;
  std::unique_ptr<State> state_;
};

}  // namespace aether::workflow::internal
