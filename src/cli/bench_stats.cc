#include "cli/bench_stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "cli/table.h"

namespace aether::cli::bench {

void LatencySamples::Merge(const LatencySamples& other) {
  samples_.insert(samples_.end(), other.samples_.begin(), other.samples_.end());
  sorted_ = samples_.empty();
}

double LatencySamples::Percentile(double q) {
  if (samples_.empty()) return 0;
  if (!sorted_) {
    std::sort(samples_.begin(), samples_.end());
    sorted_ = true;
  }
  q = std::clamp(q, 0.0, 100.0);
  auto n = static_cast<double>(samples_.size());
  auto rank = static_cast<size_t>(std::ceil(q / 100.0 * n));
  return samples_[rank == 0 ? 0 : rank - 1];
}

double LatencySamples::Max() { return Percentile(100); }

double LatencySamples::Mean() const {
  if (samples_.empty()) return 0;
  return std::accumulate(samples_.begin(), samples_.end(), 0.0) /
         static_cast<double>(samples_.size());
}

double RunTotals::BlockingProbability() const {
  return requested == 0 ? 0 : static_cast<double>(blocked()) / static_cast<double>(requested);
}

std::string Fixed(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

namespace {

std::string Spread(LatencySamples& s) {
  if (s.count() == 0) return "-";
  return "p50 " + Fixed(s.Percentile(50), 2) + "  p90 " + Fixed(s.Percentile(90), 2) + "  p99 " +
         Fixed(s.Percentile(99), 2) + "  max " + Fixed(s.Max(), 2);
}

}  // namespace

void PrintSummary(RunTotals& t, const std::string& title, std::FILE* out) {
  std::fprintf(out, "%s\n", title.c_str());
  Table table({"METRIC", "VALUE"});
  table.AddRow({"workflows requested", std::to_string(t.requested)});
  table.AddRow({"workflows accepted", std::to_string(t.accepted)});
  table.AddRow({"refused at apply", std::to_string(t.refused)});
  table.AddRow({"not running in time", std::to_string(t.not_ready)});
  if (t.ended_pending > 0) {
    table.AddRow({"ended before running", std::to_string(t.ended_pending)});
  }
  table.AddRow({"blocking probability", Fixed(t.BlockingProbability(), 4)});
  table.AddRow({"apply ms", Spread(t.apply_ms)});
  table.AddRow({"apply to running ms", Spread(t.ready_ms)});
  table.AddRow({"requests", std::to_string(t.requests)});
  table.AddRow({"requests ok", std::to_string(t.ok)});
  table.AddRow({"request errors", std::to_string(t.errors)});
  table.AddRow(
      {"throughput req/s", t.seconds > 0 ? Fixed(static_cast<double>(t.ok) / t.seconds, 1) : "-"});
  table.AddRow({"latency ms", Spread(t.latency_ms)});
  if (t.delete_failures > 0) {
    table.AddRow({"delete failures", std::to_string(t.delete_failures)});
  }
  if (!t.first_refusal.empty()) table.AddRow({"first refusal", Truncate(t.first_refusal, 120)});
  if (!t.first_error.empty()) table.AddRow({"first request error", Truncate(t.first_error, 120)});
  table.Print(out);
}

}  // namespace aether::cli::bench
