#include "control/function_stats.h"

#include <algorithm>
#include <utility>

namespace aether::control {

FunctionStats::FunctionStats(FunctionStatsOptions options, SteadyTime start)
    : options_(options), began_(start) {}

void FunctionStats::Record(std::string_view function, int status, double seconds) {
  double ms = seconds * 1000.0;
  std::lock_guard lock(mu_);
  auto it = current_.find(function);
  if (it == current_.end()) {
    // Room is kept for the overflow entry itself.
    std::string_view key =
        current_.size() + 1 < options_.max_functions ? function : kOtherFunctions;
    it = current_.try_emplace(std::string(key)).first;
  }
  FunctionCounts& c = it->second;
  ++c.requests;
  if (status >= 500) ++c.errors;
  c.latency_ms_sum += ms;
  c.latency_ms_max = std::max(c.latency_ms_max, ms);
}

void FunctionStats::Tick(SteadyTime now, int64_t wall_ms) {
  std::lock_guard lock(mu_);
  if (now - began_ < options_.interval) return;
  StatsSample s;
  s.end_ms = wall_ms;
  s.seconds = std::chrono::duration<double>(now - began_).count();
  s.functions = std::exchange(current_, {});
  began_ = now;
  ring_.push_back(std::move(s));
  while (ring_.size() > options_.samples) ring_.pop_front();
}

std::vector<StatsSample> FunctionStats::Since(int64_t since_ms) const {
  std::lock_guard lock(mu_);
  std::vector<StatsSample> out;
  for (const StatsSample& s : ring_) {
    if (s.end_ms > since_ms) out.push_back(s);
  }
  return out;
}

}  // namespace aether::control
