// Invocations through the gateway per function, sampled into a ring buffer:
// the time series behind the dashboard's plots (GET /api/stats,
// docs/api.md). Prometheus keeps history for those who run it; this keeps
// the last minutes for an operator who has only the control plane.
//
// The gateway Records each answered invocation of a deployed function;
// something calls Tick often (the control service's sweeper, about every
// second), and Tick closes the interval once `interval` has passed: the
// interval's totals become one sample, the oldest sample beyond `samples`
// is dropped. Memory is bounded: `samples` × `max_functions` entries.
//
// Thread-safety: every method from any thread. The invocation path holds
// one shard's mutex for a map lookup and a few additions; threads record
// into shards of their own (as metrics do: common/metrics.h), so two IO
// threads do not pass one lock's cache line back and forth per invocation.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/metrics.h"

namespace aether::control {

struct FunctionStatsOptions {
  std::chrono::milliseconds interval{5000};
  size_t samples = 180;  // with the 5 s interval: the last 15 minutes
  // Functions counted apart in one interval; invocations of any further
  // ones are summed under kOtherFunctions (a fleet with thousands of
  // functions plots its busiest, not an unbounded table).
  size_t max_functions = 500;
};

// Not a valid function name (those start with [a-z0-9]), so never one.
inline constexpr std::string_view kOtherFunctions = "_other";

// One function during one interval.
struct FunctionCounts {
  int64_t requests = 0;
  // Answers with a status >= 500: traps, timeouts, no ready node, bad
  // gateway, overload. A 4xx is the caller's mistake, not the function's.
  int64_t errors = 0;
  double latency_ms_sum = 0;  // gateway latency: queueing and forward included
  double latency_ms_max = 0;
};

struct StatsSample {
  int64_t end_ms = 0;  // wall clock (Unix ms) when the interval closed
  double seconds = 0;  // its length
  std::map<std::string, FunctionCounts, std::less<>> functions;  // those invoked in it
};

class FunctionStats {
 public:
  using SteadyTime = std::chrono::steady_clock::time_point;

  // The first interval starts at `start`.
  FunctionStats(FunctionStatsOptions options, SteadyTime start);

  void Record(std::string_view function, int status, double seconds);
  // Closes the interval when `interval` has passed since it began; the
  // sample is stamped `wall_ms`. A Tick that comes late (a stalled sweeper)
  // closes one longer interval: rates divide by its real length.
  void Tick(SteadyTime now, int64_t wall_ms);
  // Samples with end_ms > since_ms, oldest first.
  std::vector<StatsSample> Since(int64_t since_ms) const;

  const FunctionStatsOptions& options() const { return options_; }

 private:
  using Counts = std::map<std::string, FunctionCounts, std::less<>>;
  struct alignas(metrics_internal::kCacheLine) Shard {
    std::mutex mu;
    Counts current;  // the interval's, recorded by this shard's threads (under mu)
  };

  const FunctionStatsOptions options_;
  std::array<Shard, metrics_internal::kShards> shards_;
  mutable std::mutex mu_;         // taken before any shard's
  SteadyTime began_;              // under mu_
  std::deque<StatsSample> ring_;  // under mu_
};

}  // namespace aether::control
