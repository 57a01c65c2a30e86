// The control plane's Prometheus metrics, registered once in the process's
// MetricsRegistry. Thread-safety: as MetricsRegistry (any thread). The
// collected ones are read at each scrape by ControlApi::CollectMetrics.
#pragma once

#include <string_view>

#include "common/metrics.h"

namespace aether::control {

struct ControlMetrics {
  explicit ControlMetrics(MetricsRegistry& r)
      : requests(r.AddCounter("aether_control_requests_total",
                              "HTTP requests by route and status code")),
        deploys(r.AddCounter("aether_control_deploys_total",
                             "Function deploys by result (ok, invalid, error)")),
        invokes(r.AddCounter("aether_control_invokes_total",
                             "Gateway invocations by HTTP status returned")),
        invoke_seconds(r.AddHistogram("aether_control_invoke_duration_seconds",
                                      "Gateway invocation latency, forward included",
                                      MetricsRegistry::DefaultLatencyBuckets())),
        nodes(r.AddCollectedGauge("aether_control_nodes", "Registered nodes by state")),
        functions(r.AddCollectedGauge("aether_control_functions", "Deployed functions")),
        revision(r.AddCollectedGauge("aether_control_store_revision", "Current store revision")),
        leader(r.AddCollectedGauge("aether_control_leader",
                                   "1 while this replica leads (does the singleton work), else 0")),
        manifest_waiters(
            r.AddGauge("aether_control_manifest_waiters", "Engines long-polling the manifest")),
        prefetch_waiters(r.AddGauge("aether_control_prefetch_waiters",
                                    "Engines long-polling the modules being deployed")) {}

  CounterFamily& requests;
  CounterFamily& deploys;
  CounterFamily& invokes;
  HistogramFamily& invoke_seconds;
  CollectedFamily& nodes;
  CollectedFamily& functions;
  CollectedFamily& revision;
  CollectedFamily& leader;
  GaugeFamily& manifest_waiters;
  GaugeFamily& prefetch_waiters;
};

}  // namespace aether::control
