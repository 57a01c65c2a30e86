// `aether bench` measurements: latency percentiles and the run's counters,
// and the summary printed at the end. Pure; one thread at a time.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace aether::cli::bench {

// Latencies in milliseconds; Percentile sorts on first use after an Add.
class LatencySamples {
 public:
  void Add(double ms) {
    samples_.push_back(ms);
    sorted_ = false;
  }
  void Merge(const LatencySamples& other);
  size_t count() const { return samples_.size(); }
  // The nearest-rank percentile (q in [0, 100]): the smallest sample with at
  // least q% of the samples at or below it; 0 without samples.
  double Percentile(double q);
  double Max();
  double Mean() const;

 private:
  std::vector<double> samples_;
  bool sorted_ = true;
};

// What one run counted. A workflow is blocked when its apply was refused
// or it was accepted but not running within the ready timeout.
struct RunTotals {
  uint64_t requested = 0;  // applies sent
  uint64_t accepted = 0;   // applies answered 201
  uint64_t refused = 0;    // applies answered otherwise, or not at all
  uint64_t not_ready = 0;  // accepted, not running within the ready timeout
  // Accepted, and at their end time (or the run's) before they ran and
  // before the ready timeout: neither served nor blocked.
  uint64_t ended_pending = 0;
  uint64_t delete_failures = 0;
  uint64_t requests = 0;      // requests sent to ingresses
  uint64_t ok = 0;            // answered 200 with the payload back
  uint64_t errors = 0;        // anything else
  double seconds = 0;         // how long the run lasted
  LatencySamples latency_ms;  // ok requests, end to end
  LatencySamples apply_ms;    // apply round trips (accepted)
  LatencySamples ready_ms;    // apply answered -> state running
  std::string first_refusal;  // the first apply error, for the summary
  std::string first_error;    // the first request error

  uint64_t blocked() const { return refused + not_ready; }
  double BlockingProbability() const;
};

// The summary table ("METRIC  VALUE" rows) on `out`.
void PrintSummary(RunTotals& totals, const std::string& title, std::FILE* out);

// "12.3" with up to `decimals` decimals, for tables and CSV values.
std::string Fixed(double value, int decimals);

}  // namespace aether::cli::bench
