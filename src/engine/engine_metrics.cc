#include "engine/engine_metrics.h"

#include <mutex>

namespace aether::engine {
namespace {

// A cached hello runs in microseconds, so the default latency buckets
// (from 0.5 ms) would put every execution in the first one.
std::vector<double> ExecutionBuckets() {
  return {0.00001, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
          0.025,   0.05,    0.1,    0.25,    0.5,    1,     2.5,    5,     10};
}

constexpr std::string_view kInlineHelp = "Executions run on the HTTP IO thread, by outcome";
constexpr std::string_view kPrefetchHelp =
    "Modules compiled ahead of their manifest on a control plane's hint, by outcome";

std::vector<double> CompileBuckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

}  // namespace

EngineMetrics::EngineMetrics(MetricsRegistry& registry)
    : cache_hits(registry
                     .AddCounter("aether_module_cache_hits_total",
                                 "Executions whose module was already loaded")
                     .Get()),
      cache_misses(registry
                       .AddCounter("aether_module_cache_misses_total",
                                   "Executions that waited for their module to load")
                       .Get()),
      live_instances(
          registry.AddGauge("aether_live_instances", "Guest executions in progress").Get()),
      queue_depth(
          registry.AddCollectedGauge("aether_queue_depth", "Executions waiting for a worker")),
      rejected(registry
                   .AddCounter("aether_rejected_total",
                               "Executions refused with 503 because the queue was full")
                   .Get()),
      events_dropped(
          registry
              .AddCounter("aether_events_dropped_total",
                          "Events for the control plane dropped (queue full or send failed)")
              .Get()),
      inline_answered(registry.AddCounter("aether_inline_executions_total", kInlineHelp)
                          .WithLabels({{"result", "answered"}})),
      inline_handed_off(registry.AddCounter("aether_inline_executions_total", kInlineHelp)
                            .WithLabels({{"result", "handed_off"}})),
      prefetch_compiled(registry.AddCounter("aether_prefetches_total", kPrefetchHelp)
                            .WithLabels({{"result", "compiled"}})),
      prefetch_failed(registry.AddCounter("aether_prefetches_total", kPrefetchHelp)
                          .WithLabels({{"result", "failed"}})),
      prefetch_dropped(registry.AddCounter("aether_prefetches_total", kPrefetchHelp)
                           .WithLabels({{"result", "dropped"}})),
      requests_(registry.AddCounter("aether_requests_total", "POST /execute answers")),
      execution_(registry.AddHistogram("aether_execution_seconds",
                                       "Guest instantiate + run + teardown time",
                                       ExecutionBuckets())),
      compile_(registry.AddHistogram("aether_compile_seconds", "Module compile time by tier",
                                     CompileBuckets())),
      traps_(registry.AddCounter("aether_traps_total", "Guest traps and timeouts by kind")) {}

EngineMetrics::FunctionMetrics& EngineMetrics::For(std::string_view function) {
  {
    std::shared_lock lock(mu_);
    auto it = functions_.find(function);
    if (it != functions_.end()) return *it->second;
  }
  std::unique_lock lock(mu_);
  auto it = functions_.find(function);
  if (it != functions_.end()) return *it->second;
  auto m = std::make_unique<FunctionMetrics>(
      FunctionMetrics{requests_.WithLabels({{"function", function}, {"status", "200"}}),
                      execution_.WithLabels({{"function", function}})});
  FunctionMetrics& ref = *m;
  functions_.emplace(std::string(function), std::move(m));
  return ref;
}

void EngineMetrics::CountRequest(std::string_view function, int http_status) {
  if (http_status == 200) {
    For(function).ok.Inc();
    return;
  }
  std::string status = std::to_string(http_status);
  requests_.WithLabels({{"function", function}, {"status", status}}).Inc();
}

void EngineMetrics::CountTrap(wasm::TrapKind kind) {
  traps_.WithLabels({{"kind", wasm::TrapName(kind)}}).Inc();
}

void EngineMetrics::ObserveCompile(wasm::Tier tier, double ms) {
  compile_.WithLabels({{"tier", wasm::TierName(tier)}}).Observe(ms / 1000.0);
}

}  // namespace aether::engine
