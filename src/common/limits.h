// The defaults that more than one component starts from, defined once: the
// config ([runtime] in common/config.h), the sandbox's own defaults
// (wasm/engine.h, wasm/wasi/wasi.h), the engine's API, the workflow host
// and the gateway all refer here; and how a function's own timeout meets
// the node's. docs/configuration.md has the table of every limit, its key
// and what happens when it is exceeded.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace aether {

// Linear memory per instance ([runtime] memory_limit).
inline constexpr uint64_t kDefaultMemoryLimit = 16ull << 20;
// Wall clock per execution ([runtime] exec_timeout).
inline constexpr std::chrono::milliseconds kDefaultExecTimeout{3000};

// The timeout one execution of a function runs under: the function's own
// (its `timeout` at deploy; zero = none) capped by the node's [runtime]
// exec_timeout. Computed here only: the engine's /execute (engine/api.cc),
// a workflow's function instances (workflow/internal/function_actor.cc)
// and the gateway's forward, which waits this plus its slack
// (control/gateway.cc; the node's cap as the control plane's config says).
constexpr std::chrono::nanoseconds EffectiveExecTimeout(std::chrono::nanoseconds function_timeout,
                                                        std::chrono::nanoseconds node_timeout) {
  return function_timeout.count() > 0 ? std::min(function_timeout, node_timeout) : node_timeout;
}
// Captured stdout / stderr per execution ([runtime] max_output).
inline constexpr uint64_t kDefaultMaxOutput = 16ull << 20;

// The engine's workflow runtime ([workflow] in common/config.h; the
// workflow host, the dataplane and the resources start from these too).
// Events waiting per instance ([workflow] mailbox_length).
inline constexpr size_t kDefaultMailboxLength = 1024;
// How long a full mailbox or link holds a sender before it is refused
// ([workflow] send_wait).
inline constexpr std::chrono::milliseconds kDefaultSendWait{1000};
// Events waiting per peer node ([workflow] dataplane_queue_length).
inline constexpr size_t kDefaultDataplaneQueueLength = 8192;
// The batches a receiving node remembers per sending node, so that a batch
// sent again (its answer was lost) is answered without being delivered
// twice: the newest this many ([workflow] dataplane_dedup_batches), none
// older than this ([workflow] dataplane_dedup_window), and, whatever those
// say, about this many bytes of ids and answers per sending node (so a
// hostile peer cannot grow it; not a key: the count bounds it in practice).
inline constexpr size_t kDefaultDataplaneDedupBatches = 1024;
inline constexpr std::chrono::milliseconds kDefaultDataplaneDedupWindow{60000};
inline constexpr size_t kDataplaneDedupMaxBytes = 1u << 20;
// The redis resource's connect and command timeouts and queued casts.
inline constexpr std::chrono::milliseconds kDefaultRedisConnectTimeout{1000};
inline constexpr std::chrono::milliseconds kDefaultRedisCommandTimeout{2000};
inline constexpr size_t kDefaultRedisQueueLength = 4096;
// The http-egress resource's queued casts.
inline constexpr size_t kDefaultHttpEgressQueueLength = 256;
// A durable kv resource's queued commands (casts and calls).
inline constexpr size_t kDefaultKvQueueLength = 4096;
// The sqlx resource (workflow/resources/sqlx.h): a statement's time budget
// when no call gives one (casts; also PostgreSQL's statement_timeout), a
// PostgreSQL connect attempt, a workflow's SQLite file at most, and the
// queued statements of one resource.
inline constexpr std::chrono::milliseconds kDefaultSqlxStatementTimeout{5000};
inline constexpr std::chrono::milliseconds kDefaultSqlxConnectTimeout{2000};
inline constexpr uint64_t kDefaultSqlxMaxDatabaseBytes = 64ull << 20;
inline constexpr size_t kDefaultSqlxQueueLength = 1024;

// The durable event log of at-least-once workflows on NATS JetStream
// ([nats] in common/config.h; workflow/jetstream_log.h starts from these).
// Subjects and streams are named "<prefix>.wf.<workflow>.I<incarnation>.<component>"
// and "<prefix>_wf_<workflow>_I<incarnation>" (workflow/jetstream_names.h).
inline constexpr std::string_view kDefaultNatsPrefix = "aether";
inline constexpr int kDefaultNatsReplicas = 1;
// A stream's limits: events older than max_age are dropped; a stream
// holding max_bytes refuses appends (ResourceExhausted).
inline constexpr std::chrono::hours kDefaultNatsMaxAge{24};
inline constexpr uint64_t kDefaultNatsMaxBytes = 1ull << 30;
// A second append of an event id within this window is not stored again.
inline constexpr std::chrono::minutes kDefaultNatsDedupWindow{2};
// An event not acknowledged within ack_wait is delivered again, at most
// max_deliver times in all; a component has at most max_ack_pending
// events handed out and not yet acknowledged.
inline constexpr std::chrono::seconds kDefaultNatsAckWait{30};
inline constexpr int64_t kDefaultNatsMaxDeliver = 10;
inline constexpr int64_t kDefaultNatsMaxAckPending = 1024;
// Appends of one engine waiting for their PubAck at once (they share the
// connection); more wait for room until their deadline.
inline constexpr int64_t kDefaultNatsMaxPendingAppends = 4096;
inline constexpr std::chrono::seconds kDefaultNatsConnectTimeout{2};
// How often each engine sweeps the streams and kv buckets of deleted
// workflows off the server (workflow/jetstream_janitor.h); one listing of
// stream names each time. An engine that ran a workflow sweeps at once
// when it learns the workflow was deleted.
inline constexpr std::chrono::minutes kDefaultNatsSweepInterval{5};

}  // namespace aether
