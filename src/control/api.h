// The control plane's HTTP API: routes, authentication and the dispatch of
// blocking work to the API worker pool. The handlers live in
// functions_api.cc (functions), node_api.cc (node protocol, /api/nodes) and
// ops_api.cc (events, gateway, health, metrics), cluster_api.cc (replicas:
// /api/cluster, /internal/artifacts), workflows/workflows_api.cc
// (workflows and their node protocol), ui_api.cc (the dashboard, /ui/),
// stats_api.cc (/api/stats); docs/api.md documents them.
//
// Thread-safety: Register before the server starts; handlers then run on
// the server's IO threads and hand anything that may block (store I/O,
// artifact files, module validation) to `workers`.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "common/config.h"
#include "common/http_server.h"
#include "common/metrics.h"
#include "common/work_queue.h"
#include "control/artifact_replicator.h"
#include "control/artifact_store.h"
#include "control/auth.h"
#include "control/control_metrics.h"
#include "control/domains/domain_registry.h"
#include "control/event_log.h"
#include "control/event_watch.h"
#include "control/function_registry.h"
#include "control/gateway.h"
#include "control/leadership.h"
#include "control/manifest_watch.h"
#include "control/node_registry.h"
#include "control/prefetch_hints.h"
#include "control/replica_set.h"
#include "control/store.h"
#include "control/workflows/orchestrator.h"
#include "control/workflows/workflow_watch.h"
#include "wasm/validate.h"

namespace aether::control {

inline constexpr std::string_view kControlVersion = "0.1.0";
// Bodies of events accepted from /callback, serialized.
inline constexpr size_t kMaxEventData = 64 << 10;

// Everything the handlers use; owned by ControlService, outlives the API.
struct ApiContext {
  const Config& config;
  const Tokens& tokens;
  Store& store;
  ArtifactStore& artifacts;
  EventLog& events;
  FunctionRegistry& functions;
  NodeRegistry& nodes;
  Gateway& gateway;
  ManifestWatch& manifest_watch;
  EventWatch& event_watch;
  MetricsRegistry& registry;
  ControlMetrics& metrics;
  WorkQueue& workers;
  Orchestrator& workflows;
  WorkflowWatch& workflow_watch;
  Leadership& leadership;
  ReplicaSet& replicas;
  ArtifactReplicator& replicator;
  // Deploys' validation (a compiler process started ahead of each).
  const wasm::ModuleValidator& validator;
  // [domain] role: "both", "cluster" or "domain".
  std::string_view role;
  // The cluster controller's domains (role "cluster"); null otherwise.
  DomainRegistry* domains = nullptr;
  // Deploys under way, for engines to compile ahead (GET /node/prefetch);
  // null: no hints (the route answers 404 and engines wait for manifests).
  PrefetchHints* hints = nullptr;
};

// Where an http-ingress request goes (ingress_api.cc).
struct IngressTarget {
  std::string url;  // the engine's (or the domain's) /wf/{workflow}/{path}
  std::chrono::milliseconds timeout{0};
};

// Who sent a request, as Authorize established it.
struct Caller {
  enum class Kind { kAnyone, kAdmin, kJoin, kNode, kDomainJoin, kDomain };
  Kind kind = Kind::kAnyone;
  std::string node_id;  // kNode: the node whose credential was sent
  // kDomain: the domain whose credential was sent
  std::string domain_id;
};

class ControlApi {
 public:
  explicit ControlApi(ApiContext ctx)
      : ctx_(ctx), scrape_hook_(ctx_.registry.OnScrape([this](Scrape& s) { CollectMetrics(s); })) {}
  // The scrape hook and the routes capture `this`.
  ControlApi(const ControlApi&) = delete;
  ControlApi& operator=(const ControlApi&) = delete;
  void Register(HttpServer& server);
  // The URL this replica is reached at (/api/cluster lists it), once the
  // server listens.
  void SetSelfUrl(std::string url) {
    std::lock_guard lock(self_mu_);
    self_url_ = std::move(url);
  }

 private:
  // Who may call a route:
  //   kOpen         anyone
  //   kAdmin        the admin token
  //   kJoin         the join or admin token (admits a new node), or a node's
  //                 credential (that node registering again): POST /register
  //   kNode         a node's credential: X-Aether-Node: <id> and
  //                 Authorization: Bearer <its secret>
  //   kNodeOrAdmin  a node's credential or the admin token (or, on a
  //                 cluster controller, a domain's credential: the
  //                 manifest and artifacts it mirrors)
  //   kDomainJoin   the domain join or admin token (admits a new domain), or
  //                 a domain's credential: POST /domain/register
  //   kDomain       a domain's credential: X-Aether-Domain: <id> and
  //                 Authorization: Bearer <its secret>
  // Everything is decided from headers, so the check can run before the body
  // is read.
  enum class Access { kOpen, kAdmin, kJoin, kNode, kNodeOrAdmin, kDomainJoin, kDomain };
  using SyncFn = std::function<HttpResponse(const HttpRequest&)>;
  using AsyncFn = std::function<void(HttpRequest&&, Responder)>;
  using CallerSyncFn = std::function<HttpResponse(const HttpRequest&, const Caller&)>;
  using CallerAsyncFn = std::function<void(HttpRequest&&, const Caller&, Responder)>;

  // Checks access on the request header (so a refused upload is never read:
  // HeaderCheck), counts the response under `route`, and runs `fn` on the
  // worker pool (503 when its queue is full).
  GuardedHandler Blocking(std::string route, Access access, SyncFn fn);
  // Runs `work` on the worker pool, or answers 503 overloaded through
  // `respond` when its queue is full.
  void OnWorkers(std::function<void()> work, const Responder& respond);
  // A long-poll's `wait` query parameter (seconds, default 0), capped at
  // `max`. InvalidArgument when it is not a non-negative integer.
  static Result<std::chrono::milliseconds> LongPollWait(const HttpRequest& req,
                                                        std::chrono::seconds max);
  GuardedHandler BlockingAs(std::string route, Access access, CallerSyncFn fn);
  // Same, but `fn` runs on the IO thread and must not block.
  GuardedHandler Inline(std::string route, Access access, AsyncFn fn);
  GuardedHandler InlineAs(std::string route, Access access, CallerAsyncFn fn);
  // Looks at the header only: it runs before the body is read. Errors:
  // Unauthenticated (401: no bearer token), PermissionDenied (403: a wrong
  // token, or one this route does not take), NotFound (404 unknown_node: a
  // credential for a node the registry does not know).
  Result<Caller> Authorize(const HttpRequest& req, Access access) const;
  Result<Caller> AuthorizeDomain(const HttpRequest& req, Access access) const;
  // A route as aether_control_requests_total{route} names it, with its
  // status="200" series looked up once: counting is on every request's path.
  struct RouteCount {
    std::string route;
    std::atomic<Counter*> ok{nullptr};
  };
  void CountResponse(RouteCount& route, int status);

  void RegisterFunctions(HttpServer& server);
  void RegisterNodes(HttpServer& server);
  void RegisterOps(HttpServer& server);
  void RegisterCluster(HttpServer& server);
  // workflows/workflows_api.cc: /api/workflows, /node/workflows.
  void RegisterWorkflows(HttpServer& server);
  // domains/domains_api.cc: /domain/register, /domain/heartbeat,
  // /api/domains.
  void RegisterDomains(HttpServer& server);
  // ingress_api.cc: /wf/{workflow}/{path}, forwarded to its engine.
  void RegisterIngress(HttpServer& server);
  // ui_api.cc: the dashboard's files (/ui/, no token).
  void RegisterUi(HttpServer& server);
  // stats_api.cc: GET /api/stats, the gateway's invocations per function
  // over the last minutes (the dashboard's plots).
  void RegisterStats(HttpServer& server);
  HttpResponse Stats(const HttpRequest& req);
  // NotFound (no such workflow or ingress), Unavailable (not placed, or
  // its node or domain is down), store errors.
  Result<IngressTarget> FindIngress(const std::string& workflow, const std::string& path);

  // functions_api.cc
  HttpResponse Deploy(const std::string& name, std::string&& wasm, EnvMap env,
                      FunctionLimits limits);
  HttpResponse DeployJson(const HttpRequest& req);
  HttpResponse DeployRaw(const HttpRequest& req, const std::string& name);
  HttpResponse GetFunction(const std::string& name);
  HttpResponse ListFunctions();
  HttpResponse Rollback(const HttpRequest& req, const std::string& name);
  HttpResponse DeleteFunction(const std::string& name);

  // node_api.cc
  HttpResponse RegisterNode(const HttpRequest& req, const Caller& caller);
  HttpResponse NodeHeartbeat(const HttpRequest& req, const Caller& caller);
  HttpResponse ListNodes();
  HttpResponse RemoveNode(const HttpRequest& req);
  HttpResponse ScheduleNode(const HttpRequest& req);  // cordon, uncordon, drain
  // Workflow instances placed per node id; nullopt when the store fails.
  std::optional<std::map<std::string, int64_t>> InstancesPerNode();

  // A domain's control plane ([domain] role = "domain") takes functions
  // and workflows from its controller only: a 409 wrong_role saying so for
  // the API calls that would change them here; nullopt in the other roles.
  std::optional<HttpResponse> ControllerOwns() const;

  // domains/domains_api.cc
  HttpResponse RegisterDomain(const HttpRequest& req, const Caller& caller);
  HttpResponse DomainHeartbeat(const HttpRequest& req, const Caller& caller);
  HttpResponse DomainWorkflows(const Caller& caller);  // the domain's part of each workflow
  HttpResponse DomainInstances(const HttpRequest& req, const Caller& caller);
  HttpResponse ListDomains();
  HttpResponse DomainAction(const HttpRequest& req);  // GET one, cordon, uncordon, drain
  HttpResponse RemoveDomain(const HttpRequest& req);

  // cluster_api.cc
  // GET of the artifact named after `prefix`: for an engine
  // (/node/artifacts, `ask_peers`: fetched from another replica when this
  // one lacks it) or for a peer (/internal/artifacts: this copy only).
  HttpResponse Artifact(const HttpRequest& req, std::string_view prefix, bool ask_peers);
  HttpResponse PutInternalArtifact(const HttpRequest& req);
  HttpResponse ClusterStatus();
  std::string SelfUrl() const {
    std::lock_guard lock(self_mu_);
    return self_url_;
  }

  // ops_api.cc
  HttpResponse Callback(const HttpRequest& req, const Caller& caller);
  // Parses on the IO thread, then reads (and maybe parks) on a worker.
  void ListEvents(const HttpRequest& req, const Responder& respond);
  HttpResponse Health();
  // /health's body: status 200 with it, or 503 with the store's error.
  std::pair<int, boost::json::object> HealthReport();
  HttpResponse Metrics();
  // The scrape hook: node counts, functions, store revision. It reads the
  // store, so /metrics renders on the worker pool (Blocking), never on the
  // IO thread.
  void CollectMetrics(Scrape& scrape);

  ApiContext ctx_;
  ScrapeHook scrape_hook_;
  std::deque<RouteCount> route_counts_;  // one per route, made at Register
  mutable std::mutex self_mu_;
  std::string self_url_;  // under self_mu_
};

// The source recorded for events caused by an admin API call.
inline constexpr std::string_view kApiSource = "api";

// 403 unless `claimed` (a node id in a body or query) is the caller's own:
// a node speaks only for itself. nullopt when it is.
std::optional<HttpResponse> ForeignNode(const Caller& caller, std::string_view claimed);

}  // namespace aether::control
