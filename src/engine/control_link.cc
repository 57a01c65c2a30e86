#include "engine/control_link.h"

#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <mutex>
#include <set>

#include "common/json_util.h"
#include "common/log.h"
#include "engine/control_client.h"
#include "engine/event_reporter.h"
#include "engine/managed_functions.h"
#include "engine/module_store.h"
#include "engine/prefetcher.h"

namespace aether::engine {
namespace {

namespace json = boost::json;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

class ControlLinkImpl final : public ControlLink {
 public:
  ControlLinkImpl(EngineMetrics& metrics, ControlLinkOptions options,
                  std::unique_ptr<ModuleStore> store)
      : options_(std::move(options)), store_(std::move(store)), metrics_(metrics) {}
  ~ControlLinkImpl() override { Stop(); }

  void Init(const Config& config, wasm::Engine& engine) {
    ControlClientOptions co;
    co.endpoints = options_.endpoints;
    co.join_token = config.auth.join_token;
    co.identity = options_.identity;
    co.labels = config.control.labels;
    // The control plane places a spec's serverless resource by this label.
    for (const ServerlessClassConfig& sc : config.workflow.serverless) {
      co.labels[ServerlessClassLabel(sc.class_type)] = sc.version;
    }
    co.capacity_json = ToJson(json::object{{"workers", options_.workers},
                                           {"queue", options_.queue_capacity},
                                           {"memory_limit", config.runtime.memory_limit}});
    co.heartbeat_interval = duration_cast<milliseconds>(config.registry.heartbeat_interval);
    co.http = options_.http;
    ControlClientHooks ch;
    ch.status = [this] { return NodeReport(); };
    ch.manifest = [this](const protocol::Manifest& m, std::string_view text) {
      OnManifest(m, text);
    };
    if (config.control.prefetch) {
      ch.prefetch = [this](const std::vector<protocol::ModuleHint>& modules) {
        prefetcher_->Offer(modules);
      };
    }
    client_ = std::make_unique<ControlClient>(std::move(co), std::move(ch));

    EventReporterOptions eo;
    eo.send = [this](const std::string& body) { return client_->PostEvent(body); };
    events_ = std::make_unique<EventReporter>(std::move(eo), metrics_.events_dropped);

    auto read_module = [this](const std::string& sha) {
      return store_->GetOrFetch(sha,
                                [this](const std::string& s) { return client_->FetchArtifact(s); });
    };
    ManagedFunctionsHooks mh;
    mh.read_module = read_module;
    mh.ready = [this](const protocol::ManifestEntry& f, wasm::Tier tier, double compile_ms) {
      events_->Report("function_ready",
                      json::object{{"function", f.name},
                                   {"sha256", f.sha256},
                                   {"version", f.version},
                                   {"tier", wasm::TierName(tier)},
                                   {"compile_ms", static_cast<int64_t>(std::llround(compile_ms))}});
      client_->BeatSoon();  // the gateway may route to this node now
    };
    mh.failed = [this](const protocol::ManifestEntry& f, std::string_view stage, const Status& st) {
      events_->Report(stage == "fetch" ? "fetch_failed" : "compile_failed",
                      json::object{{"function", f.name},
                                   {"sha256", f.sha256},
                                   {"version", f.version},
                                   {"error", SanitizeUtf8(st.message())}});
    };
    managed_ = std::make_unique<ManagedFunctions>(engine, std::move(mh));
    prefetcher_ = std::make_unique<Prefetcher>(
        engine, read_module,
        PrefetcherOptions{.max_module_size = config.runtime.max_module_size,
                          .compiled = &metrics_.prefetch_compiled,
                          .failed = &metrics_.prefetch_failed,
                          .dropped = &metrics_.prefetch_dropped});

    // Serve what this engine had before it was restarted.
    Result<std::string> saved = store_->ReadManifest();
    if (saved.ok()) {
      Result<protocol::Manifest> m = protocol::ParseManifest(*saved);
      if (m.ok()) {
        LOG_INFO(
            "serving {} functions from the last manifest (revision {}) until the control "
            "plane answers",
            m->functions.size(), m->revision);
        managed_->Apply(*m);
        last_manifest_ = std::move(*saved);
      } else {
        LOG_WARN("ignoring the saved manifest: {}", m.status().message());
      }
    }
  }

  FunctionRegistry& functions() override { return *managed_; }

  void Start(std::string self_url) override {
    events_->Start();
    client_->Start(std::move(self_url));
  }

  void Stop() override {
    if (client_) client_->Stop();
    if (events_) events_->Stop();
  }

  void ExecutionFailed(std::string_view function, wasm::TrapKind kind) override {
    events_->ExecutionFailed(function, kind);
  }

 private:
  protocol::Heartbeat NodeReport() {
    protocol::Heartbeat r;
    if (options_.load) std::tie(r.load.inflight, r.load.queue) = options_.load();
    r.ready = managed_->Ready();
    r.cached = static_cast<int64_t>(r.ready.size());
    return r;
  }

  // On the client's manifest thread.
  void OnManifest(const protocol::Manifest& m, std::string_view text) {
    managed_->Apply(m);
    if (text == last_manifest_) return;
    last_manifest_ = std::string(text);
    if (Status st = store_->WriteManifest(text); !st.ok()) {
      LOG_WARN("cannot save the manifest for restarts: {}", st.message());
    }
    std::set<std::string> keep;
    for (const protocol::ManifestEntry& f : m.functions) keep.insert(f.sha256);
    store_->Retain(keep);
  }

  const ControlLinkOptions options_;
  const std::unique_ptr<ModuleStore> store_;
  EngineMetrics& metrics_;
  std::string last_manifest_;  // manifest thread only (and Init before it)
  // Destruction: managed_ and prefetcher_ (their threads use client_,
  // events_ and store_) before events_ and client_; client_'s threads (which
  // use prefetcher_) are stopped first, by Stop().
  std::unique_ptr<ControlClient> client_;
  std::unique_ptr<EventReporter> events_;
  std::unique_ptr<ManagedFunctions> managed_;
  std::unique_ptr<Prefetcher> prefetcher_;
};

}  // namespace

Result<std::unique_ptr<ControlLink>> ControlLink::Create(const Config& config, wasm::Engine& engine,
                                                         EngineMetrics& metrics,
                                                         ControlLinkOptions options) {
  if (config.control.urls.empty()) return InvalidArgument("[control] urls is not set");
  if (options.identity == nullptr) return InvalidArgument("a node identity is required");
  if (options.endpoints == nullptr) return InvalidArgument("the control plane's URLs are required");
  ASSIGN_OR_RETURN(std::unique_ptr<ModuleStore> store, ModuleStore::Open(config.runtime.data_dir));
  auto link = std::make_unique<ControlLinkImpl>(metrics, std::move(options), std::move(store));
  link->Init(config, engine);
  return std::unique_ptr<ControlLink>(std::move(link));
}

}  // namespace aether::engine
