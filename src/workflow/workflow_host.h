// The engine's side of workflows (docs/workflow-protocol.md): the instances
// placed on this node (function instances as actors over wasm::Instance,
// resources), the aether.* host functions, local delivery, and the seams to
// the network (RemoteLink: other engines; the control plane poller feeds
// Apply() and reads Statuses()).
//
// Thread-safety: every method from any thread, except Stop() and the
// destructor (one controlling thread, never from a callback).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/limits.h"
#include "common/metrics.h"
#include "common/resource_config.h"
#include "common/result.h"
#include "protocol/assignments.h"
#include "protocol/instance_status.h"
#include "wasm/engine.h"
#include "wasm/host.h"
#include "workflow/event_log.h"
#include "workflow/resource.h"

namespace aether::workflow {

// The wire structs of the node protocol (protocol/assignments.h,
// protocol/instance_status.h), as the host takes and reports them.
using protocol::InstanceAssignment;
using protocol::InstanceStatus;
using protocol::OutputTarget;
using protocol::PeerGrant;

// A call's answer: the callee's reply, or that it has none (`none`, bytes
// empty: an EDGELESS function's CallRet::NoReply). Only an EDGELESS caller
// tells the two apart; to every other caller "none" is an empty reply.
struct CallReply {
  std::string bytes;
  bool none = false;
};

// Replies to calls are asynchronous everywhere: a callback, called exactly
// once from any thread (possibly before the call returns).
using ReplyFn = std::function<void(Result<CallReply> reply)>;

// Delivery to instances on other nodes (dataplane.h implements it over
// HTTP). Errors of Cast: ResourceExhausted when the link's queue is still
// full at `wait_until` (the event is not sent; the caller decides what that
// means). Call errors reach `done`: DeadlineExceeded,
// Unavailable (node unreachable), NotFound (no such instance there),
// ResourceExhausted (full), Internal (the target failed; its message).
class RemoteLink {
 public:
  virtual ~RemoteLink() = default;
  virtual Status Cast(const OutputTarget& target, std::string_view source, std::string_view payload,
                      WaitUntil wait_until) = 0;
  virtual void Call(const OutputTarget& target, std::string_view source, std::string_view payload,
                    std::chrono::milliseconds timeout, ReplyFn done) = 0;
  // The same call made on the calling thread, for a caller that blocks until
  // the reply anyway (a guest in aether.call): it saves the hand-offs to the
  // link's threads and back. nullopt: not offered, use Call. Default: not
  // offered.
  virtual std::optional<Result<CallReply>> CallOnThisThread(const OutputTarget& target,
                                                            std::string_view source,
                                                            std::string_view payload,
                                                            std::chrono::milliseconds timeout) {
    (void)target, (void)source, (void)payload, (void)timeout;
    return std::nullopt;
  }
  // A cast that Cast refused is dropped for good (the sender waited as long
  // as it may and does not try again): for the link's own counters. Cast
  // itself counts nothing, since its caller may still wait and retry, or
  // refuse a client instead (an http-ingress: not a drop). Default: ignored.
  virtual void CountSendDropped(const OutputTarget& target) { (void)target; }
};

struct WorkflowHostOptions {
  wasm::Engine* engine = nullptr;  // outlives the host
  std::string node_id;
  std::string data_dir;          // resources write under <data_dir>/workflows/
  RemoteLink* remote = nullptr;  // may be null until SetRemote (tests: local only)
  // The module of `function` at `sha256` (blocking; called on a host
  // thread). NotFound/Unavailable while the node does not have it yet: the
  // instance stays "starting" and is retried.
  std::function<Result<std::shared_ptr<const wasm::Module>>(const std::string& function,
                                                            const std::string& sha256)>
      module;
  // The node's caps (Config [runtime]): a function's limits are capped by these.
  uint64_t memory_limit = kDefaultMemoryLimit;
  std::chrono::milliseconds timeout = kDefaultExecTimeout;
  size_t threads = 0;  // guest threads for instances; 0 = hardware threads
  size_t mailbox_length = kDefaultMailboxLength;  // events waiting per instance
  // At most this long a guest's cast (within its event's budget), a call
  // into a full mailbox, or a resource's send waits for room
  // ([workflow] send_wait).
  std::chrono::milliseconds send_wait = kDefaultSendWait;
  ResourceLimits resource_limits;  // given to every resource
  // The durable log of at-least-once workflows (event_log.h; the engine's
  // [nats]). Null: their instances fail, saying that the node has none.
  std::shared_ptr<EventLog> event_log;
  // The buckets of durable kv resources (jetstream_kv.h; the engine's
  // [nats]). Null: those instances fail, saying that the node has none.
  std::shared_ptr<KvBuckets> kv_buckets;
  // At most this long an at-least-once cast waits for the log to store it
  // (a guest's: also within its event's budget).
  std::chrono::milliseconds log_append_timeout = std::chrono::seconds(5);
  // Attempts at an at-least-once event whose handler fails or traps; then
  // it is given up (terminated in the log, counted, reported). The log's
  // own limit ([nats] max_deliver) should be the same.
  int max_deliveries = 10;
  // Posts an event to the control plane ({"event", "data"} JSON); may be empty.
  std::function<void(std::string body)> post_event;
  // Called when an instance changes state (the status poster sends at once).
  std::function<void()> status_changed;
  // Timers, restart backoff, call deadlines, log rate limits; outlives the
  // host (tests: a FakeClock). Guest execution budgets stay on real time.
  Clock* clock = &Clock::Real();
  // Where the host registers aether_workflow_* and
  // aether_dataplane_dropped_total (collected at each scrape from the
  // instance table). May be null (no metrics); else outlives the host.
  MetricsRegistry* metrics = nullptr;
};

// The reply to an http-ingress request.
struct IngressReply {
  int status = 200;
  std::string content_type;
  std::string body;
  int retry_after_s = 0;  // > 0: a Retry-After header (503: full, not running)
  // More response headers: those of an EDGELESS function's HTTP response
  // that may reach the client (EdgelessResponseHeaders).
  std::vector<std::pair<std::string, std::string>> headers = {};
};

// What an http-ingress in EDGELESS's format hands its target besides the
// method and the body: EDGELESS's HTTP request JSON carries the Host, the
// path with its query and the headers (edgeless_http.h). Views into the
// request, valid during the Ingress call; read only by an ingress in that
// format, which picks the end-to-end headers (EdgelessHeaders).
struct IngressHttp {
  std::string_view host;   // the Host the client sent (X-Forwarded-Host through a control plane)
  std::string_view query;  // the query string, without the '?' ("" when none)
  const std::vector<std::pair<std::string, std::string>>* headers = nullptr;  // as sent
};

// The headers of a request to /wf/{workflow}/{path} from a portal of
// another domain (docs/workflow-protocol.md, "Portals (links between
// domains)"), as sent: the ingress in portal mode checks them.
struct PortalRequest {
  std::string mode;        // X-Aether-Portal: "cast" or "call" (else 400 portal_only)
  std::string token;       // X-Aether-Portal-Token: 64 hex digits
  std::string timeout_ms;  // X-Aether-Timeout-Ms ("" when absent): a call's remaining timeout
};

class WorkflowHost {
 public:
  static Result<std::unique_ptr<WorkflowHost>> Create(WorkflowHostOptions options);
  virtual ~WorkflowHost() = default;  // Stop()s

  // The aether.* imports, to put into wasm::EngineOptions::host_functions
  // when the engine is created (before any module that imports them loads).
  // EDGELESS's env.*_asm imports among them (edgeless_host_functions.cc).
  static std::vector<wasm::HostFunction> HostFunctions();
  static std::vector<wasm::HostFunction> EdgelessHostFunctions();

  // Reconciles the instances on this node to `instances` (see the protocol
  // doc): starts, stops, restarts and rewires. Returns at once; instances
  // start in the background.
  virtual void Apply(std::vector<InstanceAssignment> instances) = 0;

  // Delivery to an instance of this node (from the dataplane endpoints).
  // Cast errors: NotFound (no such instance here; counted as dropped),
  // ResourceExhausted (its mailbox is full: not taken, not counted; the
  // dataplane asks the sender to send it again). Never waits.
  virtual Status Cast(std::string_view instance, std::string_view source,
                      std::string_view payload) = 0;
  virtual void Call(std::string_view instance, std::string_view source, std::string_view payload,
                    std::chrono::milliseconds timeout, ReplyFn done) = 0;

  // An http-ingress request for /wf/{workflow}/{path}: `done` gets the
  // reply (404 when no such ingress runs here, 405 for a method it does
  // not allow, 502/503/504 per the protocol doc). `idempotency_key` is the
  // request's Idempotency-Key header ("" when none): a cast-mode ingress of
  // an at-least-once workflow derives the event id from it, so a repeat
  // within the log's dedup window is stored once; a bad key, or one sent
  // where it cannot be honoured, is a 400 (docs/workflows.md, "Delivery").
  // `http` (may be null): what an ingress in EDGELESS's format passes on.
  // Never blocks.
  virtual void Ingress(std::string_view workflow, std::string_view path, std::string_view method,
                       std::string_view idempotency_key, const IngressHttp* http, std::string body,
                       std::function<void(IngressReply)> done) = 0;
  void Ingress(std::string_view workflow, std::string_view path, std::string_view method,
               std::string_view idempotency_key, std::string body,
               std::function<void(IngressReply)> done) {
    Ingress(workflow, path, method, idempotency_key, nullptr, std::move(body), std::move(done));
  }
  // The same without an Idempotency-Key.
  void Ingress(std::string_view workflow, std::string_view path, std::string_view method,
               std::string body, std::function<void(IngressReply)> done) {
    Ingress(workflow, path, method, "", std::move(body), std::move(done));
  }

  // A request for /wf/{workflow}/{path} that carries X-Aether-Portal (the
  // dataplane's route calls this instead of Ingress then): for an
  // http-ingress in portal mode, a batch of casts or one call from a portal
  // resource of another domain. `done` gets 200 {"accepted":N} for a batch
  // taken whole, 503 {"error","code","accepted":k} when the target took
  // only the first k, the reply of a call, or an error: 403
  // permission_denied (a missing or wrong token), 400 portal_only (a mode
  // other than cast or call), not_a_portal (an ingress in another mode),
  // invalid_batch, invalid_timeout; 404, 405 (not a POST), 502/503/504 as
  // for Ingress. (Ingress, to an ingress in portal mode: 400 portal_only.)
  // Never blocks.
  virtual void Portal(std::string_view workflow, std::string_view path, std::string_view method,
                      PortalRequest portal, std::string body,
                      std::function<void(IngressReply)> done) = 0;

  virtual std::vector<InstanceStatus> Statuses() const = 0;
  virtual void SetRemote(RemoteLink* remote) = 0;
  // Events the network side dropped after its queue took them (a peer
  // that stayed unreachable, refused the batch or answered "dropped"):
  // added to aether_dataplane_dropped_total. The host itself counts what it
  // drops (sends refused after send_wait by a full mailbox or link, casts to
  // instances that do not run here). Default: ignored.
  virtual void AddDataplaneDropped(int64_t n) { (void)n; }

  // Stops every instance (handle_stop) and resource; idempotent.
  virtual void Stop() = 0;
};

}  // namespace aether::workflow
