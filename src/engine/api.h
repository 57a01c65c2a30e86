// The engine's HTTP API:
//   POST /execute   {"function", "input"} -> run the function on a worker
//   GET  /health    {"status":"ok", "functions", "workers", "busy", "queue", ...}
//   GET  /metrics   Prometheus text
//   GET  /functions {"functions": [{"name", "sha256", "size", "state", "tier", "error"}]}
// (The workflow routes, /dataplane/v1/* and /wf/..., are added by
// workflow::Dataplane::Register.)
//
// Handlers run on the HTTP IO thread: /execute parses, looks the function
// up and queues the execution; a worker runs it and answers through the
// Responder. A quick function runs on the IO thread instead, saving the two
// hand-offs between threads (to the worker and back): one whose last
// kQuickRunsBeforeInline executions each took at most half of
// inline_budget, when the IO thread is a guest thread (the engine starts
// its server's threads as wasm::GuestThreads). It runs there under a
// timeout of inline_budget; past it, it is stopped and run again from the
// start on a worker (an /execute guest has no effect outside its own
// output, so the client sees one execution), and its streak starts again.
// So an IO thread is held by a guest for at most inline_budget per request.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/config.h"
#include "common/http_server.h"
#include "common/limits.h"
#include "common/metrics.h"
#include "common/work_queue.h"
#include "engine/engine_metrics.h"
#include "engine/executor.h"
#include "engine/function_registry.h"
#include "wasm/engine.h"

namespace aether {
class Timer;  // common/timer.h
}

namespace aether::engine {

// Quick executions in a row before a function runs on the IO thread.
inline constexpr uint32_t kQuickRunsBeforeInline = 8;

struct ApiOptions {
  std::chrono::nanoseconds exec_timeout = kDefaultExecTimeout;
  uint64_t memory_limit = kDefaultMemoryLimit;
  uint64_t max_input = 1ull << 20;            // stdin bytes; more is 413
  uint64_t max_output = kDefaultMaxOutput;    // per captured stream
  std::string version;                        // reported by /health
  std::chrono::nanoseconds inline_budget{0};  // 0: never on the IO thread

  static ApiOptions FromConfig(const RuntimeConfig& runtime, std::string version);
};

// Told about executions that trapped or timed out (event reporting). Called
// on a worker after the execution; must not block.
class ExecutionObserver {
 public:
  virtual ~ExecutionObserver() = default;
  virtual void ExecutionFailed(std::string_view function, wasm::TrapKind kind) = 0;
};

// What other components add to /health (workflows). Called on an IO
// thread; must not block. May be empty. (They add to /metrics by
// registering in the MetricsRegistry.)
struct ApiExtras {
  std::function<void(boost::json::object& health)> health;  // adds fields
};

// Every reference must outlive the Api (and the server it is registered
// with: Register() hands out handlers that point at it). Thread-safety: the
// handlers may be called from any thread.
class Api {
 public:
  Api(ApiOptions options, wasm::Engine& engine, FunctionRegistry& functions, Executor& executor,
      MetricsRegistry& registry, EngineMetrics& metrics, ExecutionObserver* observer = nullptr);
  ~Api();  // stops its loader and deadline threads

  // Adds the routes above. Call before server.Start(). GET /metrics
  // renders `registry` (on the IO thread: see common/metrics.h).
  void Register(HttpServer& server);
  // Before server.Start().
  void SetExtras(ApiExtras extras) { extras_ = std::move(extras); }

  // An /execute request is answered within its function's timeout, however
  // long it waits: for a worker (queue wait counts against the timeout) or
  // for its module's compile (it waits without holding a worker; the
  // compile runs on a loader thread). Past the deadline without having run:
  // 503 "overloaded" or "loading", with Retry-After.
  void Execute(HttpRequest&& request, Responder respond);
  void Health(HttpRequest&& request, Responder respond);
  void Metrics(HttpRequest&& request, Responder respond);
  void Functions(HttpRequest&& request, Responder respond);

 private:
  struct Pending;
  struct Life;
  void Submit(const std::shared_ptr<Pending>& job);
  // On the IO thread: runs a quick function's job there. False when it did
  // not answer: not quick (yet), or it ran past the inline budget.
  bool RunInline(Pending& job);
  // On a worker, or with a `budget` on the IO thread: false (and no answer)
  // when it ran past that budget.
  bool Run(Pending& job, std::chrono::nanoseconds budget = {});
  // Keeps the function's streak of quick executions.
  void CountQuick(Function& function, const Result<wasm::RunResult>& run);

  const ApiOptions options_;
  wasm::Engine& engine_;
  FunctionRegistry& functions_;
  Executor& executor_;
  MetricsRegistry& registry_;
  EngineMetrics& metrics_;
  ExecutionObserver* const observer_;  // may be null
  ApiExtras extras_;
  ScrapeHook scrape_hook_;  // aether_queue_depth
  // Loads finish on the registries' threads, which may outlive the Api: a
  // load's callback reaches the Api only through this, cleared by ~Api.
  std::shared_ptr<Life> life_;
  // Declared last: destroyed first, so their threads stop before the
  // members their tasks use.
  std::unique_ptr<Timer> deadlines_;
  std::unique_ptr<WorkQueue> loaders_;
};

}  // namespace aether::engine
