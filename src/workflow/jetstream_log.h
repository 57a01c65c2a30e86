// The EventLog (event_log.h) on NATS JetStream, through the C client
// (libnats). Why JetStream: docs/workflows.md, "Delivery"; running it:
// docs/operations.md, "NATS JetStream".
//
// Layout on the server, for prefix P (jetstream_names.h):
//   * one stream per workflow incarnation, "P_wf_<workflow>_I<n>", on
//     subjects "P.wf.<workflow>.I<n>.*" (a workflow without an
//     incarnation: "P_wf_<workflow>", "P.wf.<workflow>.*"): file storage, WorkQueue retention (an
//     acknowledged or terminated event leaves the stream), discard-new
//     when full (Append answers ResourceExhausted), the options' replicas,
//     max_age, max_bytes and dedup window;
//   * one subject per component, "P.wf.<workflow>.I<n>.<component>";
//   * one durable pull consumer per component, named "<component>" and
//     filtered on its subject (the filters do not overlap, as WorkQueue
//     requires): explicit acks, the options' ack_wait, max_deliver and
//     max_ack_pending. Every Subscribe of the component, on any node, binds
//     to it, so each event goes to one of them.
// An event's id travels as Nats-Msg-Id (the server drops a second publish
// of an id within the dedup window), its source as the Aether-Source
// header. Workflow and component names must be protocol names
// ([a-z0-9][a-z0-9_-]{0,62}); ids [A-Za-z0-9_-]{1,64}; sources at most 255
// printable bytes without '.', '*', '>' or whitespace: anything else is
// InvalidArgument before it reaches NATS.
//
// Errors: the log could not be reached (no server, a timeout, a
// disconnect, JetStream not answering) → Unavailable; no stream →
// NotFound; the stream is full → ResourceExhausted; an event over the
// server's max_payload (1 MiB by default) → InvalidArgument; refused
// credentials → Unauthenticated; anything else NATS reports → Internal,
// with its text. Secrets (password, token) never appear in a message or a
// log line.
//
// Ack, Nak, Term and Progress are published without waiting for the
// server: one lost with the connection means a redelivery after the ack
// wait (at-least-once allows it).
//
// The connection reconnects by itself, forever, with a backoff of 100 ms
// doubling to 5 s; each change of state (disconnected, reconnected,
// closed) is logged once. While it is away, Fetch answers Unavailable at
// once (within kFetchSlice when the link drops during a Fetch) and Append
// waits for it until its deadline. Beyond event_log.h, Fetch answers
// NotFound once the workflow's stream was deleted under it (subscribe
// again after EnsureWorkflow). Streams and consumers that already exist
// keep their events; their limits are updated to the options' where
// JetStream allows it (a warning is logged where it does not).
//
// Thread-safety: the EventLog, its subscriptions and deliveries may be
// used from any thread (one Fetch at a time per subscription); each keeps
// the connection alive, so they may outlive the EventLog.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/limits.h"
#include "common/result.h"
#include "workflow/event_log.h"

namespace aether::workflow {

struct JetStreamOptions {
  // nats:// (or tls://) URLs of one cluster; at least one. No credentials
  // in them: use user/password or token.
  std::vector<std::string> urls;
  // At most one of user (with password) and token. Secrets: never logged.
  std::string user;
  std::string password;
  std::string token;
  // TLS: a CA file to trust (else the system's), and a client certificate
  // and key (both or neither). Any of them, or a tls:// URL, turns TLS on.
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  // Streams (created by EnsureWorkflow).
  std::string prefix = std::string(kDefaultNatsPrefix);  // [A-Za-z0-9_-]{1,32}
  int replicas = kDefaultNatsReplicas;                   // 1..5
  std::chrono::milliseconds max_age = kDefaultNatsMaxAge;
  uint64_t max_bytes = kDefaultNatsMaxBytes;
  std::chrono::milliseconds dedup_window = kDefaultNatsDedupWindow;  // <= max_age
  // Consumers (created by the first Subscribe of a component).
  std::chrono::milliseconds ack_wait = kDefaultNatsAckWait;
  int64_t max_deliver = kDefaultNatsMaxDeliver;
  int64_t max_ack_pending = kDefaultNatsMaxAckPending;
  // Appends waiting for their PubAck at once (they share one connection
  // and its round trips); more wait for room until their deadline.
  int64_t max_pending_appends = kDefaultNatsMaxPendingAppends;
  // The first connection attempt to each server; also the wait of
  // JetStream's management requests (streams, consumers).
  std::chrono::milliseconds connect_timeout = kDefaultNatsConnectTimeout;
  // How often the client pings the server: a link that died silently is
  // noticed after about two intervals.
  std::chrono::milliseconds ping_interval = std::chrono::seconds(5);
  // How often a subscription that gets nothing checks that its consumer
  // still exists (JetStream answers pulls for a deleted one as if it were
  // empty): a deleted consumer is created again, a deleted stream makes
  // Fetch answer NotFound.
  std::chrono::milliseconds consumer_check_interval = std::chrono::seconds(5);
  // How often an engine sweeps the streams and buckets of deleted
  // workflows off the server (jetstream_janitor.h).
  std::chrono::milliseconds sweep_interval = kDefaultNatsSweepInterval;
};

// A Fetch waits for events in slices of at most this long, checking the
// connection and Close() between them.
inline constexpr std::chrono::milliseconds kFetchSlice{500};

// InvalidArgument (which option and why) unless `options` can be used.
Status ValidateJetStreamOptions(const JetStreamOptions& options);

// Connects (each URL tried once, within connect_timeout) and checks that
// JetStream answers. Errors: InvalidArgument (the options; a TLS file that
// cannot be read), Unavailable (no server reachable, JetStream not
// answering), Unauthenticated (credentials refused), FailedPrecondition
// (JetStream not enabled on the server, TLS wanted on one side only).
Result<std::unique_ptr<EventLog>> ConnectJetStream(const JetStreamOptions& options);

}  // namespace aether::workflow
