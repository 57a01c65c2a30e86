// Wall-clock time per stage of one operation (a deploy, a module's fetch
// and compile), for the DEBUG log lines an operator reads to see where a
// slow first response went (docs/benchmarks.md, "Where the time goes"),
// and which bench/first_response.sh prints. One line per operation:
//   "spawn=1.2 exec=2.0 translate=41.3 tcc=30.2 publish=1.1 total=80.4"
// (milliseconds).
//
// Thread-safety: one thread at a time (an operation's own).
#pragma once

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace aether {

class StageTimes {
 public:
  using Clock = std::chrono::steady_clock;

  StageTimes() : start_(Clock::now()), last_(start_) {}

  // The stage `name` ended now; it began at the previous Lap (or Skip, or
  // the construction).
  void Lap(std::string_view name) {
    Clock::time_point now = Clock::now();
    Add(name, Ms(now - last_));
    last_ = now;
  }
  // Time since the previous lap belongs to no stage (e.g. it is measured
  // elsewhere and added with Add).
  void Skip() { last_ = Clock::now(); }
  // A stage measured elsewhere (another process, a callee's own StageTimes).
  void Add(std::string_view name, double ms) { stages_.emplace_back(std::string(name), ms); }
  void Append(const StageTimes& other) {
    stages_.insert(stages_.end(), other.stages_.begin(), other.stages_.end());
  }

  const std::vector<std::pair<std::string, double>>& stages() const { return stages_; }
  double total_ms() const { return Ms(Clock::now() - start_); }

  // "a=1.2 b=3.4 total=4.7": stages in order, then the time since
  // construction (unless `with_total` is false: stages only added).
  std::string Format(bool with_total = true) const {
    std::string out;
    for (const auto& [name, ms] : stages_) out += fmt::format("{}={:.1f} ", name, ms);
    if (with_total) {
      out += fmt::format("total={:.1f}", total_ms());
    } else if (!out.empty()) {
      out.pop_back();
    }
    return out;
  }

  static double Ms(Clock::duration d) {
    return std::chrono::duration<double, std::milli>(d).count();
  }

 private:
  Clock::time_point start_;
  Clock::time_point last_;
  std::vector<std::pair<std::string, double>> stages_;
};

// Whether DEBUG lines are wanted ([log] level = "debug"). LOG_DEBUG is
// compiled out of release builds (SPDLOG_ACTIVE_LEVEL), so stage timings are
// logged with spdlog::debug behind this check.
inline bool DebugLogging() { return spdlog::should_log(spdlog::level::debug); }

}  // namespace aether
