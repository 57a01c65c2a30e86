#include "engine/engine_service.h"

#include <filesystem>
#include <system_error>

#include "common/http_server.h"
#include "common/log.h"
#include "common/metrics.h"
#include "engine/api.h"
#include "engine/control_client.h"
#include "engine/control_link.h"
#include "engine/engine_metrics.h"
#include "engine/executor.h"
#include "engine/function_registry.h"
#include "wasm/engine.h"

namespace aether::engine {
namespace {

Status MakeDirs(const std::string& dir, std::string_view what) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return PermissionDenied("cannot create " + std::string(what) + " " + dir + ": " + ec.message());
  return OkStatus();
}

class EngineServiceImpl final : public EngineService {
 public:
  explicit EngineServiceImpl(const Config& config) : config_(config) {}
  ~EngineServiceImpl() override { Stop(); }

  Status Init(std::optional<uint16_t> port_override) {
    const RuntimeConfig& rt = config_.runtime;
    RETURN_IF_ERROR(MakeDirs(rt.data_dir, "data_dir"));
    std::string cache_dir = rt.data_dir + "/cache";
    RETURN_IF_ERROR(MakeDirs(cache_dir, "the module cache"));

    metrics_ = std::make_unique<EngineMetrics>(registry_);
    wasm::EngineOptions eo;
    eo.cache_dir = cache_dir;
    eo.cache_size = rt.cache_size;
    eo.optimize = rt.optimize;
    eo.cc = rt.cc;
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
    if (!config_.control.url.empty()) {
      ControlLinkOptions lo;
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

    api_ = std::make_unique<Api>(ApiOptions::FromConfig(rt, std::string(kEngineVersion)), *engine_,
                                 *functions_, *executor_, registry_, *metrics_, control_.get());

    HttpServerOptions so = HttpServerOptions::FromConfig(config_.server, kDefaultEnginePort);
    if (port_override) so.port = *port_override;
    // Two IO threads: on the 2-core reference VM, wrk -t2 -c64 against hello
    // gave ~95-105k req/s with two and ~70-90k with one (interleaved runs);
    // the guests are microseconds, so HTTP work is the bottleneck.
    so.io_threads = 2;
    server_ = std::make_unique<HttpServer>(std::move(so));
    api_->Register(*server_);
    return OkStatus();
  }

  Status Start() override {
    RETURN_IF_ERROR(server_->Start());
    if (control_) control_->Start(SelfUrl());
    return OkStatus();
  }

  void Stop() override {
    // Order matters: stop beating first (the control plane stops routing
    // here within node_timeout), then the server lets in-flight executions
    // answer, then the workers drain what is left (late answers are
    // dropped), and only then may the engine and the registries go.
    if (control_) control_->Stop();
    if (server_) server_->Stop();
    if (executor_) executor_->Stop();
  }

  uint16_t port() const override { return server_->port(); }
  std::string url() const override { return server_->url(); }
  size_t function_count() const override { return functions_->size(); }
  const std::string& functions_dir() const override { return functions_->dir(); }

 private:
  // Where the control plane reaches this engine: the server's URL, with the
  // host name instead of a wildcard address (0.0.0.0 would mean the control
  // plane's own host).
  std::string SelfUrl() const {
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
  std::unique_ptr<ControlLink> control_;       // null without [control] url
  std::unique_ptr<FunctionRegistry> layered_;  // control_'s functions, then dir_functions_
  FunctionRegistry* functions_ = nullptr;      // what the API serves: layered_ or dir_functions_
  std::unique_ptr<Executor> executor_;
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
