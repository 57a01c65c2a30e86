#include "control/function_stats.h"

#include <algorithm>
#include <utility>

namespace aether::control {

FunctionStats::FunctionStats(FunctionStatsOptions options, SteadyTime start)
    : options_(options), began_(start) {}

namespace {

// Adds `c` to `name`'s counts in `into`, which holds at most `max` entries:
// past that, to kOtherFunctions (room is kept for it; a shard's own
// kOtherFunctions merges into it).
void Add(std::map<std::string, FunctionCounts, std::less<>>& into, std::string_view name,
         const FunctionCounts& c, size_t max) {
  auto it = into.find(name);
  if (it == into.end()) {
    size_t names = into.size() - into.count(kOtherFunctions);
    std::string_view key = name != kOtherFunctions && names + 1 < max ? name : kOtherFunctions;
    it = into.try_emplace(std::string(key)).first;
  }
  FunctionCounts& t = it->second;
  t.requests += c.requests;
  t.errors += c.errors;
  t.latency_ms_sum += c.latency_ms_sum;
  t.latency_ms_max = std::max(t.latency_ms_max, c.latency_ms_max);
}

}  // namespace

void FunctionStats::Record(std::string_view function, int status, double seconds) {
  double ms = seconds * 1000.0;
  FunctionCounts one{
      .requests = 1, .errors = status >= 500 ? 1 : 0, .latency_ms_sum = ms, .latency_ms_max = ms};
  Shard& shard = shards_[metrics_internal::ThisThreadShard()];
  std::lock_guard lock(shard.mu);
  Add(shard.current, function, one, options_.max_functions);
}

void FunctionStats::Tick(SteadyTime now, int64_t wall_ms) {
  std::lock_guard lock(mu_);
  if (now - began_ < options_.interval) return;
  StatsSample s;
  s.end_ms = wall_ms;
  s.seconds = std::chrono::duration<double>(now - began_).count();
  for (Shard& shard : shards_) {
    Counts taken;
    {
      std::lock_guard shard_lock(shard.mu);
      taken.swap(shard.current);
    }
    for (const auto& [name, counts] : taken) Add(s.functions, name, counts, options_.max_functions);
  }
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
