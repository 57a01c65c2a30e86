#include "control/control_service.h"

#include <fcntl.h>
#include <fmt/ranges.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>

#include "common/http_server.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/units.h"
#include "control/api.h"
#include "control/artifact_replicator.h"
#include "control/domains/domain_agent.h"
#include "control/domains/domain_registry.h"
#include "control/etcd_store.h"
#include "control/event_log.h"
#include "control/replica_set.h"
#include "protocol/ids.h"
#include "wasm/validate.h"

namespace aether::control {
namespace {

// Each replica collects its own artifact directory this often, keeping
// what is younger than the grace: another replica's deploy copies its
// module here before committing the rows that refer to it.
constexpr std::chrono::minutes kArtifactGcPeriod{10};
constexpr std::chrono::seconds kReplicaGcGrace{10 * 60};

// An exclusive flock on <data dir>/LOCK for the process's lifetime. The
// kernel drops it when the process dies, so kill -9 never leaves it stale.
class DirLock {
 public:
  ~DirLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  Status Acquire(const std::string& dir) {
    std::string path = dir + "/LOCK";
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) return Unavailable("cannot open " + path + ": " + std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      return Unavailable("the data directory " + dir + " is in use by another aether-control");
    }
    return OkStatus();
  }

 private:
  int fd_ = -1;
};

// The [store] the config names and this replica's part in the election:
// SQLite at [database] path (always the leader), or etcd (the password from
// AETHER_ETCD_PASSWORD when the file has none) with a leader elected among
// the replicas.
struct OpenedStore {
  std::unique_ptr<Store> store;
  std::unique_ptr<Leadership> leadership;
};
Result<OpenedStore> OpenConfiguredStore(const Config& config, std::string replica_id) {
  const StoreConfig& st = config.store;
  if (st.backend != "etcd") {
    ASSIGN_OR_RETURN(std::unique_ptr<Store> store, OpenSqliteStore(config.database.path));
    return OpenedStore{std::move(store), NewEmbeddedLeadership(std::move(replica_id), "sqlite")};
  }
  EtcdStoreOptions o;
  o.endpoints = st.endpoints;
  o.prefix = st.prefix;
  o.username = st.username;
  o.password = st.password;
  if (const char* env = std::getenv(kEtcdPasswordEnv); o.password.empty() && env != nullptr) {
    o.password = env;
  }
  o.request_timeout = WholeMilliseconds(st.request_timeout);
  o.ca_file = st.ca_file;
  o.cert_file = st.cert_file;
  o.key_file = st.key_file;
  auto ttl = std::chrono::duration_cast<std::chrono::seconds>(config.cluster.lease_ttl);
  ASSIGN_OR_RETURN(EtcdControlPlane etcd, OpenEtcdControlPlane(o, {replica_id, ttl}));
  LOG_INFO("store: etcd at {} (prefix {}); replica {}", fmt::join(st.endpoints, ", "), st.prefix,
           replica_id);
  return OpenedStore{std::move(etcd.store), std::move(etcd.leadership)};
}

class ControlServiceImpl final : public ControlService {
 public:
  ControlServiceImpl(const Config& config, ControlServiceParts parts)
      : config_(config), parts_(std::move(parts)) {}
  ~ControlServiceImpl() override { Stop(); }

  Status Init(std::optional<uint16_t> port_override) {
    // Deploys are validated in the compiler process: fail now, not at the first deploy.
    RETURN_IF_ERROR(wasm::CompilerWorkerReady());
    std::filesystem::path db(config_.database.path);
    data_dir_ = db.parent_path().empty() ? "." : db.parent_path().string();
    std::error_code ec;
    std::filesystem::create_directories(data_dir_, ec);
    if (ec)
      return Unavailable("cannot create the data directory " + data_dir_ + ": " + ec.message());
    RETURN_IF_ERROR(lock_.Acquire(data_dir_));

    RETURN_IF_ERROR(ValidateRole(config_.domain.role));
    const bool cluster = config_.domain.role == kRoleCluster;
    ASSIGN_OR_RETURN(tokens_, LoadOrCreateTokens(config_.auth, data_dir_, cluster));
    ASSIGN_OR_RETURN(std::string replica_id,
                     LoadOrCreateReplicaId(config_.cluster.replica_id, data_dir_,
                                           !parts_.store && config_.store.backend == "etcd"));
    if (parts_.store) {
      store_ = std::move(parts_.store);
      leadership_ = parts_.leadership ? std::move(parts_.leadership)
                                      : NewEmbeddedLeadership(replica_id, "memory");
    } else {
      ASSIGN_OR_RETURN(OpenedStore opened, OpenConfiguredStore(config_, replica_id));
      store_ = std::move(opened.store);
      leadership_ = std::move(opened.leadership);
    }
    fenced_ = std::make_unique<FencedStore>(*store_, *leadership_);
    ASSIGN_OR_RETURN(artifacts_, ArtifactStore::Open(data_dir_ + "/artifacts"));
    ASSIGN_OR_RETURN(events_, EventLog::Open(*store_, config_.database.max_events, fenced_.get()));
    functions_ = std::make_unique<FunctionRegistry>(*store_, *artifacts_, *events_,
                                                    EnvLimitsOf(config_.runtime),
                                                    config_.database.keep_versions);
    replicas_ = std::make_unique<ReplicaSet>(*store_, replica_id);
    ArtifactReplicatorOptions ro;
    ro.token = tokens_.admin;
    ro.ca_file = config_.cluster.ca_file;
    ro.max_artifact_bytes = config_.runtime.max_module_size;
    replicator_ = std::make_unique<ArtifactReplicator>(*artifacts_, *replicas_, *functions_,
                                                       *store_, std::move(ro));
    if (Replicated()) {
      ArtifactReplicator* replicator = replicator_.get();
      functions_->SetReplication(
          [replicator](const std::string& sha256, std::string_view bytes) {
            return replicator->Replicate(sha256, bytes);
          },
          kReplicaGcGrace);
    }
    // Each replica collects its own directory: now (crashed deploys'
    // orphans), then every kArtifactGcPeriod (the sweeper's thread).
    CollectGarbage();

    NodeRegistryOptions no;
    no.node_timeout = config_.registry.node_timeout;
    no.leader = fenced_.get();
    no.replicated = Replicated();
    ASSIGN_OR_RETURN(nodes_, NodeRegistry::Open(*store_, *events_, std::move(no)));

    if (cluster) {
      DomainRegistryOptions dro;
      dro.timeout = config_.domain.timeout;
      dro.leader = fenced_.get();
      ASSIGN_OR_RETURN(domains_, DomainRegistry::Open(*store_, *events_, std::move(dro)));
    }
    if (config_.domain.role == kRoleDomain) RETURN_IF_ERROR(CheckDomainConfig());

    metrics_ = std::make_unique<ControlMetrics>(registry_);
    GatewayOptions go;
    go.exec_timeout =
        std::chrono::duration_cast<std::chrono::milliseconds>(config_.runtime.exec_timeout);
    go.threads = config_.gateway.workers;
    go.max_queue = config_.gateway.queue_length;
    go.max_connections_per_node = config_.gateway.max_connections_per_node;
    stats_ =
        std::make_unique<FunctionStats>(FunctionStatsOptions{}, std::chrono::steady_clock::now());
    go.stats = stats_.get();
    gateway_ = std::make_unique<Gateway>(*functions_, *nodes_, *metrics_, go);
    watch_ = std::make_unique<ManifestWatch>(*store_, *functions_, *metrics_);
    hints_ = std::make_unique<PrefetchHints>(&metrics_->prefetch_waiters.Get());
    event_watch_ = std::make_unique<EventWatch>(*store_, *events_);
    workers_ = std::make_unique<WorkQueue>(WorkQueueOptions{
        "the control plane's API workers", parts_.api_workers, parts_.api_queue, 0});
    // Checked by the config parser; a policy it let through is a bug here.
    ASSIGN_OR_RETURN(PlacementPolicy placement, ParsePlacementPolicy(config_.workflow.placement));
    orchestrator_ = std::make_unique<Orchestrator>(
        *store_, *functions_, *nodes_, *events_, registry_,
        OrchestratorOptions{
            .leader = fenced_.get(), .placement = placement, .domains = domains_.get()});
    NodeRegistry* nodes = nodes_.get();
    workflow_watch_ = std::make_unique<WorkflowWatch>(
        *store_, orchestrator_->workflow_store(),
        [nodes](const std::string& sender, const std::string& receiver) {
          return nodes->PairTokenDigest(sender, receiver);
        });
    validator_ = std::make_unique<wasm::ModuleValidator>(wasm::CompileLimitsFrom(config_.runtime),
                                                         data_dir_ + "/jobs");
    api_ = std::make_unique<ControlApi>(
        ApiContext{config_,        tokens_,     *store_,      *artifacts_,    *events_,
                   *functions_,    *nodes_,     *gateway_,    *watch_,        *event_watch_,
                   registry_,      *metrics_,   *workers_,    *orchestrator_, *workflow_watch_,
                   *leadership_,   *replicas_,  *replicator_, *validator_,    config_.domain.role,
                   domains_.get(), hints_.get()});

    HttpServerOptions so = HttpServerOptions::FromConfig(config_.server, kDefaultControlPort);
    if (port_override) so.port = *port_override;
    so.metrics = &registry_;
    server_ = std::make_unique<HttpServer>(std::move(so));
    api_->Register(*server_);
    return OkStatus();
  }

  Status Start() override {
    RETURN_IF_ERROR(server_->Start());
    std::string self_url =
        config_.cluster.advertise_url.empty() ? server_->url() : config_.cluster.advertise_url;
    api_->SetSelfUrl(self_url);
    if (Replicated()) {
      if (config_.cluster.advertise_url.empty()) {
        LOG_INFO(
            "replica {} is reached by the others at {} (set [cluster] advertise_url when "
            "they run on other machines)",
            leadership_->replica_id(), self_url);
      }
      leadership_->Advertise(
          EncodeReplicaRecord({leadership_->replica_id(), self_url, NowRfc3339()}));
      replicator_->Start();
    }
    watch_->Start();
    hints_->Start();
    event_watch_->Start();
    workflow_watch_->Start();
    orchestrator_->Start();
    if (config_.domain.role == kRoleDomain) {
      DomainAgentOptions ao;
      ao.controller = config_.domain.controller;
      ao.domain_id = domain_id_;
      ao.url = config_.domain.url.empty() ? self_url : config_.domain.url;
      ao.labels = config_.domain.labels;
      ao.join_token = domain_join_token_;
      ao.data_dir = data_dir_;
      ao.ca_file = config_.cluster.ca_file;
      // Modules up to this domain's own limit (it takes what it can deploy),
      // with room for a manifest's JSON around them.
      ao.max_response_bytes = config_.runtime.max_module_size + (1 << 20);
      local_ = NewServiceDomainLocal(*functions_, *nodes_, *orchestrator_);
      ao.local = local_.get();
      ASSIGN_OR_RETURN(agent_, DomainAgent::Create(std::move(ao)));
      agent_->Start();
    }
    // Sweep often enough that a node (a domain) is marked down within ~1/4
    // of node_timeout (the domain timeout) after it expires.
    auto period = std::clamp<std::chrono::nanoseconds>(
        std::min(config_.registry.node_timeout, config_.domain.timeout) / 4,
        std::chrono::milliseconds(50), std::chrono::seconds(1));
    sweeper_ = std::thread([this, period] {
      auto next_gc = std::chrono::steady_clock::now() + kArtifactGcPeriod;  // Init collected
      std::unique_lock lock(sweep_mu_);
      while (!sweep_cv_.wait_for(lock, period, [this] { return stopping_; })) {
        lock.unlock();
        if (std::chrono::steady_clock::now() >= next_gc) {
          CollectGarbage();
          next_gc = std::chrono::steady_clock::now() + kArtifactGcPeriod;
        }
        nodes_->Sweep();
        if (domains_) domains_->Sweep();
        // The dashboard's time series: closes a sample every 5 s.
        stats_->Tick(std::chrono::steady_clock::now(),
                     std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count());
        lock.lock();
      }
    });
    return OkStatus();
  }

  void Stop() override {
    // Order: parked manifest and workflow polls are answered first (they
    // would otherwise hold the server's graceful stop for its whole
    // timeout), then the gateway (its forwards run on the server's IO
    // threads, which must outlive them; invocations from now on get 503
    // unavailable), then no new requests while those in flight finish,
    // then the background threads; the store goes last (with the object).
    // Before all that, the lead goes to another replica (at once, not after
    // a lease_ttl): from now on this one's singleton work is not done and
    // its fenced writes are refused.
    if (leadership_) leadership_->Resign();
    if (agent_) agent_->Stop();
    if (watch_) watch_->Stop();
    if (hints_) hints_->Stop();
    if (event_watch_) event_watch_->Stop();
    if (workflow_watch_) workflow_watch_->Stop();
    if (gateway_) gateway_->Stop();
    if (server_) server_->Stop();
    if (orchestrator_) orchestrator_->Stop();
    if (replicator_) replicator_->Stop();
    if (workers_) workers_->Drain();  // queued requests still get their answer
    {
      std::lock_guard lock(sweep_mu_);
      stopping_ = true;
    }
    sweep_cv_.notify_all();
    if (sweeper_.joinable()) sweeper_.join();
  }

  uint16_t port() const override { return server_->port(); }
  std::string url() const override { return server_->url(); }
  const std::string& admin_token() const override { return tokens_.admin; }
  const std::string& join_token() const override { return tokens_.join; }
  const std::string& admin_token_file() const override { return tokens_.admin_file; }
  const std::string& join_token_file() const override { return tokens_.join_file; }
  const std::string& domain_join_token() const override { return tokens_.domain_join; }
  const std::string& domain_join_token_file() const override { return tokens_.domain_join_file; }
  bool domain_connected() const override { return agent_ != nullptr && agent_->connected(); }
  const std::string& data_dir() const override { return data_dir_; }
  size_t parked_workflow_polls() const override {
    return workflow_watch_ ? workflow_watch_->waiters() : 0;
  }

 private:
  // Role domain: its id and the controller's join token, from [domain] or
  // the environment, checked before anything listens.
  Status CheckDomainConfig() {
    if (config_.domain.controller.empty()) {
      return InvalidArgument(
          "[domain] role = \"domain\" needs [domain] controller = [\"http://controller:9090\"]");
    }
    domain_id_ = config_.domain.id;
    if (domain_id_.empty()) {
      char host[256] = {};
      if (::gethostname(host, sizeof host - 1) == 0) domain_id_ = host;
    }
    RETURN_IF_ERROR(protocol::ValidateNodeId(domain_id_, "[domain] id"));
    domain_join_token_ = config_.domain.join_token;
    if (const char* env = std::getenv("AETHER_DOMAIN_JOIN_TOKEN");
        domain_join_token_.empty() && env != nullptr) {
      domain_join_token_ = env;
    }
    return OkStatus();
  }

  // Replicas on etcd: artifacts are copied between them (artifact_replicator.h).
  bool Replicated() const { return leadership_->backend() == "etcd"; }

  // Orphans: artifacts of deploys that crashed before their rows were
  // committed, or of deletes interrupted before the cleanup. A replica's
  // own directory: its in-flight deploys are pinned, copies for another
  // replica's deploy are kept by their age (kReplicaGcGrace).
  void CollectGarbage() {
    if (auto gc = functions_->CollectGarbage(); !gc.ok()) {
      LOG_WARN("artifact cleanup: {}", gc.status().message());
    } else if (*gc > 0) {
      LOG_INFO("removed {} unreferenced artifacts", *gc);
    }
  }

  Config config_;
  ControlServiceParts parts_;
  std::string data_dir_;
  DirLock lock_;
  Tokens tokens_;
  MetricsRegistry registry_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Leadership> leadership_;  // before store_ goes: it waits on its watch
  std::unique_ptr<FencedStore> fenced_;     // the singleton parts' writes
  std::unique_ptr<ArtifactStore> artifacts_;
  std::unique_ptr<EventLog> events_;
  std::unique_ptr<FunctionRegistry> functions_;
  std::unique_ptr<ReplicaSet> replicas_;
  std::unique_ptr<ArtifactReplicator> replicator_;
  std::unique_ptr<NodeRegistry> nodes_;
  std::unique_ptr<DomainRegistry> domains_;  // role cluster
  std::unique_ptr<DomainLocal> local_;       // role domain, after Start
  std::unique_ptr<DomainAgent> agent_;       // role domain, after Start
  std::string domain_id_;                    // role domain
  std::string domain_join_token_;            // role domain
  std::unique_ptr<ControlMetrics> metrics_;
  std::unique_ptr<FunctionStats> stats_;  // before gateway_, which records into it
  std::unique_ptr<Gateway> gateway_;
  std::unique_ptr<ManifestWatch> watch_;
  std::unique_ptr<PrefetchHints> hints_;  // before api_: a deploy's announcement ends in it
  std::unique_ptr<EventWatch> event_watch_;
  std::unique_ptr<WorkQueue> workers_;
  std::unique_ptr<Orchestrator> orchestrator_;
  std::unique_ptr<WorkflowWatch> workflow_watch_;
  std::unique_ptr<wasm::ModuleValidator> validator_;
  std::unique_ptr<ControlApi> api_;
  std::unique_ptr<HttpServer> server_;
  std::thread sweeper_;
  std::mutex sweep_mu_;
  std::condition_variable sweep_cv_;
  bool stopping_ = false;
};

}  // namespace

Result<std::unique_ptr<ControlService>> ControlService::Create(
    const Config& config, std::optional<uint16_t> port_override, ControlServiceParts parts) {
  auto service = std::make_unique<ControlServiceImpl>(config, std::move(parts));
  RETURN_IF_ERROR(service->Init(port_override));
  return std::unique_ptr<ControlService>(std::move(service));
}

}  // namespace aether::control
