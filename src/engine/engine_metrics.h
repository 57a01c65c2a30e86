// The engine's Prometheus metrics, registered once in the process's
// MetricsRegistry. Recording is lock-free except the first use of a label
// set; the per-function handles on the success path are cached.
//
//   aether_requests_total{function,status}   /execute answers by HTTP status;
//                                            function="" when the request named no known function
//   aether_execution_seconds{function}       guest instantiate + run + teardown
//   aether_compile_seconds{tier}             Engine compiles (fast and optimized tier)
//   aether_module_cache_hits_total           requests whose module was loaded already
//   aether_module_cache_misses_total         requests that had to wait for a load
//   aether_live_instances                    guest executions in progress
//   aether_traps_total{kind}                 traps and timeouts by TrapName
//   aether_queue_depth                       tasks waiting for a worker (set when scraped)
//   aether_rejected_total                    503s because the queue was full
//   aether_inline_executions_total{result}   executions run on the IO thread: result="answered",
//                                            or "handed_off" (past the inline budget, run again
//                                            on a worker)
//   aether_events_dropped_total              events for the control plane dropped
//   aether_prefetches_total{result}          modules compiled ahead of their manifest on a
//                                            control plane's hint: "compiled", "failed", "dropped"
#pragma once

#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/metrics.h"
#include "wasm/engine.h"

namespace aether::engine {

// Thread-safety: any thread.
class EngineMetrics {
 public:
  explicit EngineMetrics(MetricsRegistry& registry);  // must outlive this

  struct FunctionMetrics {
    Counter& ok;  // requests_total{function, status="200"}
    Histogram& execution_seconds;
  };
  // Stable reference, created on first use.
  FunctionMetrics& For(std::string_view function);

  void CountRequest(std::string_view function, int http_status);
  void CountTrap(wasm::TrapKind kind);
  void ObserveCompile(wasm::Tier tier, double ms);

  Counter& cache_hits;
  Counter& cache_misses;
  Gauge& live_instances;
  CollectedFamily& queue_depth;  // written by the Api's scrape hook
  Counter& rejected;
  Counter& events_dropped;
  Counter& inline_answered;
  Counter& inline_handed_off;
  Counter& prefetch_compiled;
  Counter& prefetch_failed;
  Counter& prefetch_dropped;

 private:
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  CounterFamily& requests_;
  HistogramFamily& execution_;
  HistogramFamily& compile_;
  CounterFamily& traps_;
  std::shared_mutex mu_;
  std::unordered_map<std::string, std::unique_ptr<FunctionMetrics>, StringHash, std::equal_to<>>
      functions_;
};

}  // namespace aether::engine
