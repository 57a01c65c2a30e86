// A built-in workflow resource (docs/workflows.md, "Resources"): a C++
// component that takes part in a workflow like a function instance does.
// It receives the events its peers send to it and sends events to its own
// outputs through the ResourceContext the dataplane gives it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/limits.h"
#include "common/resource_config.h"
#include "common/result.h"

namespace aether::workflow {

class KvBuckets;  // jetstream_kv.h

// How long a sender may wait for room in a full mailbox or link (real
// time: a guest's budget is): the default, a time_point{} in the past,
// means "do not wait". Waiting is the flow control of workflows (see
// docs/workflows.md, "Backpressure"): a producer without room is held
// until its consumer takes an event, so a slow stage slows the ones before
// it, and the refusal reaches the http-ingress instead of events being
// dropped in the middle of the chain.
using WaitUntil = std::chrono::steady_clock::time_point;
inline constexpr WaitUntil kNoWait{};

// A resource class the engine's operator configured ([[workflow.serverless]]
// in common/config.h): an OpenFaaS-style HTTP function, EDGELESS's
// "serverless" provider (resources/serverless.h).
struct ServerlessClass {
  std::string class_type;  // the class name specs use, e.g. "double"
  std::string url;         // POSTed to for each event: the operator's, trusted
  std::chrono::milliseconds timeout{30000};
};

// A PostgreSQL database an sqlx resource may use (the engine's
// [[workflow.sql]], common/config.h), with its password read from
// password_file when the engine started. `password` is a secret: never
// logged or put in a message.
struct SqlDatabase {
  std::string name;
  std::string url;  // postgresql://user@host:port/db, without a password
  std::string password;
  std::vector<std::string> workflows;  // allowed workflow ids; empty = all
};

// The engine's [workflow] limits that resources enforce (common/config.h;
// WorkflowHostOptions::resource_limits carries them to every resource).
struct ResourceLimits {
  std::chrono::milliseconds redis_connect_timeout = kDefaultRedisConnectTimeout;
  std::chrono::milliseconds redis_command_timeout = kDefaultRedisCommandTimeout;
  size_t redis_queue_length = kDefaultRedisQueueLength;             // queued casts
  size_t http_egress_queue_length = kDefaultHttpEgressQueueLength;  // queued casts
  size_t kv_queue_length = kDefaultKvQueueLength;  // queued commands of a durable kv
  // sqlx: a statement's budget without a call's timeout (and PostgreSQL's
  // statement_timeout), a PostgreSQL connect attempt, one SQLite file at
  // most, queued statements, and the PostgreSQL databases it may use.
  std::chrono::milliseconds sqlx_statement_timeout = kDefaultSqlxStatementTimeout;
  std::chrono::milliseconds sqlx_connect_timeout = kDefaultSqlxConnectTimeout;
  uint64_t sqlx_max_database_bytes = kDefaultSqlxMaxDatabaseBytes;
  size_t sqlx_queue_length = kDefaultSqlxQueueLength;
  std::vector<SqlDatabase> sql_databases;
  // [workflow] egress_default: an http-egress without an "allow" list
  // reaches any public address (true) or nothing (false).
  bool egress_public_by_default = true;
  // The classes this engine provides beyond the built-in ones.
  std::vector<ServerlessClass> serverless{};
};

// What the hosting engine offers a resource. The callbacks are valid until
// the resource's Stop() returns; they may be called from any thread.
struct ResourceContext {
  std::string workflow;     // workflow id, e.g. "wf-1a2b3c4d"
  int64_t incarnation = 0;  // InstanceAssignment::incarnation (names durable kv's bucket)
  std::string component;    // component name in the spec
  std::string instance_id;  // "<workflow>/<component>/<index>"
  std::string data_dir;     // the engine's data dir (file-log writes under it)
  ResourceConfigMap configurations;
  ResourceLimits limits;
  // Where durable kv resources keep their data (the engine's [nats]); null
  // when the engine has no [nats] urls.
  std::shared_ptr<KvBuckets> kv_buckets;
  // Periods and backoff of the resource's own threads (the host's clock).
  Clock* clock = &Clock::Real();

  // Sends `payload` to the targets of `output` (balanced over their
  // instances). NotFound: the output is not mapped; ResourceExhausted: the
  // target's mailbox or the link to its node is full (the event is dropped
  // and counted).
  std::function<Status(std::string_view output, std::string_view payload)> cast;
  // Sends and waits for the reply. DeadlineExceeded after `timeout`;
  // Unavailable: no live target; Aborted-like failures of the target as
  // Internal with its message.
  std::function<Result<std::string>(std::string_view output, std::string_view payload,
                                    std::chrono::milliseconds timeout)>
      call;
  // The outputs mapped right now (the ingress needs its single one).
  std::function<std::vector<std::string>()> outputs;
  // Counts a failure on this instance (shown in GET /api/workflows/{id})
  // and logs `message` (rate-limited by the host).
  std::function<void(std::string_view message)> report_failure;
};

// Thread-safety: Cast/Call may be called from several threads at once (a
// resource is not an actor); Stop from the owning thread, once.
class Resource {
 public:
  virtual ~Resource() = default;

  // An event addressed to this resource. Errors are counted as failures of
  // the resource and answered to a calling peer.
  virtual Status Cast(std::string_view source, std::string_view payload) = 0;
  // Cast again after Cast answered ResourceExhausted: a resource with a
  // queue (http-egress, redis) holds the caller until it has room or
  // `wait_until`, so a slow backend slows its producers instead of losing
  // their events. The default (no queue) casts once more.
  virtual Status CastWait(std::string_view source, std::string_view payload, WaitUntil wait_until) {
    (void)wait_until;
    return Cast(source, payload);
  }
  virtual Result<std::string> Call(std::string_view source, std::string_view payload,
                                   std::chrono::milliseconds timeout) = 0;

  // Takes new configurations without stopping (what it holds stays): a
  // portal whose target moved to another domain keeps its queued casts.
  // False (the default, or configurations it cannot take in place): the
  // host stops it and creates it again.
  virtual bool Update(const ResourceConfigMap& configurations) {
    (void)configurations;
    return false;
  }

  // Stops background work (timer thread, connections) and returns when no
  // callback of the context will be called any more. Idempotent.
  virtual void Stop() = 0;
};

// Creates a resource of `class_type` from ctx.configurations (parsed with
// common/resource_config.h). Errors: InvalidArgument for an unknown class
// or a bad configuration; Unavailable when a backing service cannot be
// reached at creation (the host retries with backoff).
Result<std::unique_ptr<Resource>> CreateResource(std::string_view class_type, ResourceContext ctx);

}  // namespace aether::workflow
