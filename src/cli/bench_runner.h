// The I/O of `aether bench`: applies each workflow of the schedule through
// the control plane, waits until it runs, drives its ingress (bench_load.h),
// deletes it when its lifetime ends, and deletes every workflow it created
// when the run ends, is interrupted or fails.
// Main thread only (it owns the Remote); the load workers have threads of
// their own.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "cli/bench_arrivals.h"
#include "cli/bench_csv.h"
#include "cli/bench_stats.h"
#include "cli/bench_workflows.h"
#include "cli/remote.h"

namespace aether::cli::bench {

struct RunConfig {
  std::vector<Arrival> schedule;
  double duration_s = 30;
  WorkflowType type;
  std::string function;     // the relay function (generated types)
  std::string name_prefix;  // generated names are <prefix>-<seq>
  uint64_t seed = 42;       // of the workflow generator
  double rate = 10;         // requests/s per running workflow; 0 = no load
  size_t payload_size = 64;
  std::chrono::milliseconds ready_timeout{10000};
  std::chrono::milliseconds request_timeout{5000};
  std::chrono::milliseconds api_timeout{10000};  // every control-plane call
  bool verbose = false;                          // a line per workflow event on stderr
};

// Runs the schedule. `csv` may be null; `interrupted` (set from another
// thread) ends the run early, as its end would. Errors, after everything
// created was deleted: the control plane refused a spec as invalid
// (invalid_spec: the message, a usage error) or the token (Unauthenticated).
// Workflows it could not delete are counted in delete_failures and named
// on stderr.
Result<RunTotals> RunBench(const Remote& remote, const RunConfig& config, CsvWriter* csv,
                           const std::atomic<bool>& interrupted);

}  // namespace aether::cli::bench
