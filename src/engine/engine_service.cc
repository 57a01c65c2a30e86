#include "engine/engine_service.h"

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <system_error>

#include "common/endpoint_list.h"
#include "common/http_client.h"
#include "common/http_server.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/node_identity.h"
#include "common/tls_client.h"
#include "engine/api.h"
#include "engine/control_client.h"
#include "engine/control_link.h"
#include "engine/engine_metrics.h"
#include "engine/executor.h"
#include "engine/function_registry.h"
#include "engine/nats_options.h"
#include "engine/workflow_options.h"
#include "protocol/ids.h"
#include "wasm/engine.h"
#include "wasm/guest_thread.h"
#include "wasm/validate.h"
#include "workflow/dataplane.h"
#include "workflow/jetstream_janitor.h"
#include "workflow/jetstream_kv.h"
#include "workflow/jetstream_log.h"
#include "workflow/lazy_event_log.h"
#include "workflow/poller.h"
#include "workflow/workflow_host.h"

namespace aether::engine {
namespace {

Status MakeDirs(const std::string& dir, std::string_view what) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return PermissionDenied("cannot create " + std::string(what) + " " + dir + ": " + ec.message());
  return OkStatus();
}

// The compiler process works in job directories under data_dir after it
// confined itself (its own working directory is not the engine's), so a
// relative [runtime] data_dir is made absolute once, here.
Config Absolute(Config config) {
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(config.runtime.data_dir, ec);
  if (!ec) config.runtime.data_dir = abs.lexically_normal().string();
  return config;
}

class EngineServiceImpl final : public EngineService {
 public:
  explicit EngineServiceImpl(const Config& config) : config_(Absolute(config)) {}
  ~EngineServiceImpl() override { Stop(); }

  Status Init(std::optional<uint16_t> port_override) {
    const RuntimeConfig& rt = config_.runtime;
    if (const std::string& url = config_.server.public_url; !url.empty()) {
      if (Status st = protocol::ValidateNodeUrl(url); !st.ok()) {
        return InvalidArgument("[server] public_url \"" + url + "\": " + st.message());
      }
    }
    RETURN_IF_ERROR(wasm::CompilerWorkerReady());
    RETURN_IF_ERROR(MakeDirs(rt.data_dir, "data_dir"));
    std::string cache_dir = rt.data_dir + "/cache";
    RETURN_IF_ERROR(MakeDirs(cache_dir, "the module cache"));

    metrics_ = std::make_unique<EngineMetrics>(registry_);
    wasm::EngineOptions eo;
    eo.cache_dir = cache_dir;
    eo.cache_size = rt.cache_size;
    eo.cache_disk_limit = rt.cache_disk_limit;
    eo.optimize = rt.optimize;
    eo.cc = rt.cc;
    eo.module_limits = wasm::ModuleLimitsFrom(rt);
    eo.compile_limits = wasm::CompileLimitsFrom(rt);
    // The workflow ABI's aether.* imports: known before any module loads.
    eo.host_functions = workflow::WorkflowHost::HostFunctions();
    EngineMetrics* metrics = metrics_.get();
    eo.on_compiled = [metrics](const std::string&, wasm::Tier tier, double ms,
                               const std::string& error) {
      if (error.empty()) metrics->ObserveCompile(tier, ms);
    };
    engine_ = wasm::NewAotEngine(std::move(eo));

    executor_ = std::make_unique<Executor>(ExecutorOptions{rt.workers, rt.queue_length});

    FunctionRegistryOptions fo;
    fo.dir = rt.functions_dir;
    ASSIGN_OR_RETURN(dir_functions_, NewFunctionRegistry(*engine_, std::move(fo)));
    FunctionRegistry* functions = dir_functions_.get();
    // Without a control plane there is no credential: the dataplane then
    // accepts no peer and sends no valid token.
    std::string node_id = DefaultNodeId(config_.control.node_id);
    // The credential is the node's, not a replica's: every replica of the
    // control plane shares the store that knows it, so one file serves
    // whichever URL the engine talks to.
    if (config_.control.urls.empty()) {
      identity_ = std::make_unique<NodeIdentity>(node_id);
    } else {
      ASSIGN_OR_RETURN(identity_, NodeIdentity::Open(rt.data_dir, node_id));
    }
    if (const std::string& ca = config_.control.ca_file; !ca.empty()) {
      // At start, not at the first https request: a typo must not wait.
      if (auto tls = NewClientTlsContext({.ca_file = ca}); !tls.ok()) {
        return InvalidArgument("[control] ca_file: " + tls.status().message());
      }
    }
    if (!config_.control.urls.empty()) {
      // Checked again: a Config may be built in code (aether dev, tests).
      std::vector<std::string> urls = config_.control.urls;
      RETURN_IF_ERROR(CheckEndpointUrls(&urls, "[control] urls"));
      control_urls_ = std::make_unique<EndpointList>(std::move(urls));
      // The control link and the workflow poller share kept connections
      // to the control plane (two long-polls, heartbeats, statuses, events).
      control_http_ = NewHttpClient({.max_idle_per_host = 4, .ca_file = config_.control.ca_file});
      ControlLinkOptions lo;
      lo.http = control_http_.get();
      lo.identity = identity_.get();
      lo.endpoints = control_urls_.get();
      lo.workers = executor_->workers();
      lo.queue_capacity = executor_->queue_capacity();
      Executor* executor = executor_.get();
      lo.load = [executor] {
        return std::pair<int64_t, int64_t>(executor->busy(), executor->queue_depth());
      };
      ASSIGN_OR_RETURN(control_, ControlLink::Create(config_, *engine_, *metrics_, std::move(lo)));
      // A name in both: the control plane's version wins (README).
      layered_ = NewLayeredRegistry(control_->functions(), *dir_functions_);
      functions = layered_.get();
    }
    functions_ = functions;

    RETURN_IF_ERROR(InitWorkflows());

    api_ = std::make_unique<Api>(ApiOptions::FromConfig(rt, std::string(kEngineVersion)), *engine_,
                                 *functions_, *executor_, registry_, *metrics_, control_.get());
    workflow::WorkflowHost* host = host_.get();
    ApiExtras extras;
    extras.health = [host](boost::json::object& health) {
      std::map<std::string, int64_t> states;
      for (const workflow::InstanceStatus& s : host->Statuses()) ++states[s.state];
      boost::json::object counts;
      for (const auto& [state, n] : states) counts[state] = n;
      health["workflow_instances"] = std::move(counts);
    };
    api_->SetExtras(std::move(extras));

    HttpServerOptions so = HttpServerOptions::FromConfig(config_.server, kDefaultEnginePort);
    if (port_override) so.port = *port_override;
    so.metrics = &registry_;
    // [server] io_threads, one per core by default (at least two): a short
    // guest runs on the IO thread (engine/api.h), so these are the cores
    // that serve quick functions. On the 2-core reference VM, wrk -t2 -c64
    // against hello gave ~95-105k req/s with two IO threads and ~70-90k with
    // one (interleaved runs). They are guest threads, for that reason.
    so.start_thread = [](std::function<void()> body) -> std::function<void()> {
      auto thread = std::make_shared<wasm::GuestThread>(std::move(body));
      return [thread] { thread->Join(); };
    };
    server_ = std::make_unique<HttpServer>(std::move(so));
    api_->Register(*server_);
    dataplane_->Register(*server_, *host_);
    return OkStatus();
  }

  Status Start() override {
    RETURN_IF_ERROR(server_->Start());
    if (control_) control_->Start(SelfUrl());
    if (poller_) poller_->Start(*host_);
    return OkStatus();
  }

  void Stop() override {
    // Order matters: stop beating first (the control plane stops routing
    // here within node_timeout), then the server lets in-flight executions
    // answer, then the workers drain what is left (late answers are
    // dropped), and only then may the engine and the registries go.
    // Workflows first: no new assignments, then the instances (handle_stop;
    // their pending calls are answered), then the links to other engines.
    // The server still answers meanwhile (the host refuses new events).
    if (poller_) poller_->Stop();
    if (host_) host_->Stop();
    if (dataplane_) dataplane_->Stop();
    if (control_) control_->Stop();
    if (server_) server_->Stop();
    if (executor_) executor_->Stop();
  }

  uint16_t port() const override { return server_->port(); }
  std::string url() const override { return server_->url(); }
  size_t function_count() const override { return functions_->size(); }
  const std::string& functions_dir() const override { return functions_->dir(); }

 private:
  Status InitWorkflows() {
    WorkflowOptions options = WorkflowOptionsFromConfig(config_);
    RETURN_IF_ERROR(ReadSqlPasswords(config_, &options));
    workflow::DataplaneOptions& dpo = options.dataplane;
    dpo.identity = identity_.get();
    dpo.metrics = &registry_;
    dpo.ca_file = config_.control.ca_file;
    dataplane_ = std::make_unique<workflow::Dataplane>(std::move(dpo));

    if (!config_.control.urls.empty() && NatsConfigured(config_)) {
      // Deletes the streams and buckets of deleted workflows, from what
      // the poller learns (workflow/jetstream_janitor.h).
      ASSIGN_OR_RETURN(workflow::JetStreamOptions jo, JetStreamOptionsFromConfig(config_));
      janitor_ = std::make_unique<workflow::JetStreamJanitor>(std::move(jo));
    }
    if (!config_.control.urls.empty()) {
      workflow::PollerOptions po;
      po.endpoints = control_urls_.get();
      po.identity = identity_.get();
      po.http = control_http_.get();
      po.events_dropped = &metrics_->events_dropped;
      workflow::Dataplane* dataplane = dataplane_.get();
      po.peers = [dataplane](std::vector<workflow::PeerGrant> peers) {
        dataplane->SetPeers(std::move(peers));
      };
      if (janitor_) {
        workflow::JetStreamJanitor* janitor = janitor_.get();
        po.observe = [janitor](const protocol::Assignments& a,
                               std::chrono::steady_clock::time_point asked_at) {
          janitor->Observe(a, asked_at);
        };
      }
      poller_ = std::make_unique<workflow::Poller>(std::move(po));
    }

    workflow::WorkflowHostOptions& ho = options.host;
    ho.engine = engine_.get();
    ho.node_id = identity_->node_id();
    ho.remote = dataplane_.get();
    ho.metrics = &registry_;
    // The control plane's version of the function (a functions_dir module
    // of the same name does not count: the assignment names a sha256).
    FunctionRegistry* managed = control_ ? &control_->functions() : functions_;
    wasm::Engine* engine = engine_.get();
    ho.module = [managed, engine](
                    const std::string& name,
                    const std::string& sha256) -> Result<std::shared_ptr<const wasm::Module>> {
      std::shared_ptr<Function> fn = managed->Find(name);
      if (fn == nullptr) return NotFound("function " + name + " is not on this node yet");
      ASSIGN_OR_RETURN(std::shared_ptr<const wasm::Module> module, fn->WaitModule());
      if (module->sha256() != sha256) {
        return Unavailable("function " + name + " is at version " + module->sha256().substr(0, 12) +
                           " here, the workflow wants " + sha256.substr(0, 12));
      }
      return engine->Current(module);
    };
    if (poller_) {
      workflow::Poller* poller = poller_.get();
      ho.post_event = [poller](std::string body) { poller->PostEvent(std::move(body)); };
      ho.status_changed = [poller] { poller->StatusChanged(); };
    }
    if (NatsConfigured(config_)) {
      ASSIGN_OR_RETURN(ho.event_log, ConnectEventLog());
      ho.max_deliveries = static_cast<int>(config_.nats.max_deliver);
      // Durable kv resources: a connection of their own, made on first use.
      ASSIGN_OR_RETURN(workflow::JetStreamOptions jo, JetStreamOptionsFromConfig(config_));
      ho.kv_buckets = workflow::KvBuckets::Create(std::move(jo));
    }
    ASSIGN_OR_RETURN(host_, workflow::WorkflowHost::Create(std::move(ho)));
    return OkStatus();
  }

  // The log of at-least-once workflows. A server that is away does not
  // keep the engine from starting (it connects on first use, then
  // reconnects by itself); a configuration it refuses does.
  Result<std::shared_ptr<workflow::EventLog>> ConnectEventLog() {
    ASSIGN_OR_RETURN(workflow::JetStreamOptions jo, JetStreamOptionsFromConfig(config_));
    auto log =
        std::make_shared<workflow::LazyEventLog>([jo] { return workflow::ConnectJetStream(jo); });
    Status st = log->ConnectNow();
    if (st.code() == Code::kUnavailable) {
      LOG_WARN(
          "NATS JetStream at {} is not reachable yet ({}); at-least-once workflows wait for it",
          config_.nats.urls.front(), st.message());
    } else if (!st.ok()) {
      return Status(st.code(), "[nats]: " + st.message());
    }
    return std::shared_ptr<workflow::EventLog>(std::move(log));
  }

  // Where the control plane and other engines reach this engine: [server]
  // public_url when set, else the server's URL, with the host name instead
  // of a wildcard address (0.0.0.0 would mean the control plane's own host).
  std::string SelfUrl() const {
    if (!config_.server.public_url.empty()) {
      std::string url = config_.server.public_url;
      while (!url.empty() && url.back() == '/') url.pop_back();
      return url;
    }
    const std::string& host = config_.server.host;
    if (host != "0.0.0.0" && host != "::" && !host.empty()) return server_->url();
    std::string url = server_->url();
    std::string name = DefaultNodeId("");
    size_t scheme = url.find("://") + 3;
    size_t colon = url.rfind(':');
    return url.substr(0, scheme) + name + url.substr(colon);
  }

  // Declaration order is destruction order reversed: everything below
  // points at what is above it.
  const Config config_;
  MetricsRegistry registry_;
  std::unique_ptr<EngineMetrics> metrics_;
  std::unique_ptr<wasm::Engine> engine_;
  std::unique_ptr<FunctionRegistry> dir_functions_;
  std::unique_ptr<NodeIdentity> identity_;      // in memory only without [control] urls
  std::unique_ptr<EndpointList> control_urls_;  // null without [control] urls
  std::unique_ptr<HttpClient> control_http_;    // null without [control] urls
  std::unique_ptr<ControlLink> control_;        // null without [control] urls
  std::unique_ptr<FunctionRegistry> layered_;   // control_'s functions, then dir_functions_
  FunctionRegistry* functions_ = nullptr;       // what the API serves: layered_ or dir_functions_
  std::unique_ptr<Executor> executor_;
  // The host sends through the dataplane and posts through the poller, so
  // both outlive it.
  std::unique_ptr<workflow::Dataplane> dataplane_;
  // Fed by the poller; null without [control] urls or [nats] urls.
  std::unique_ptr<workflow::JetStreamJanitor> janitor_;
  std::unique_ptr<workflow::Poller> poller_;  // null without [control] urls
  std::unique_ptr<workflow::WorkflowHost> host_;
  std::unique_ptr<Api> api_;
  std::unique_ptr<HttpServer> server_;
};

}  // namespace

Result<std::unique_ptr<EngineService>> EngineService::Create(
    const Config& config, std::optional<uint16_t> port_override) {
  auto service = std::make_unique<EngineServiceImpl>(config);
  RETURN_IF_ERROR(service->Init(port_override));
  return std::unique_ptr<EngineService>(std::move(service));
}

}  // namespace aether::engine
