// `aether bench` arrival models: when each workflow of an experiment starts
// and ends, as EDGELESS's edgeless_benchmark draws them (docs/cli.md,
// "aether bench"). Pure: the whole schedule is drawn up front from a seed,
// so the same options give the same schedule on any machine.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace aether::cli::bench {

enum class ArrivalKind {
  kPoisson,      // exponential inter-arrivals and lifetimes (means --interarrival, --lifetime)
  kIncremental,  // one every --interarrival, each living --lifetime
  kIncrAndKeep,  // one every --interarrival until --warmup, all kept to the end
  kSingle,       // one workflow for the whole run
  kTrace,        // start and end times read from a file
};

// "poisson", "incremental", "incr-and-keep", "single", "trace"; anything
// else is InvalidArgument listing those.
Result<ArrivalKind> ParseArrivalKind(std::string_view name);
std::string_view ArrivalKindName(ArrivalKind kind);

// One workflow of the schedule, in seconds since the experiment started.
// `end_s` may lie past the experiment's end: the workflow then ends with it.
struct Arrival {
  double start_s = 0;
  double end_s = 0;
  bool operator==(const Arrival&) const = default;
};

struct ArrivalOptions {
  ArrivalKind kind = ArrivalKind::kPoisson;
  double duration_s = 30;
  double warmup_s = 0;
  double interarrival_s = 5;
  double lifetime_s = 5;
  uint64_t seed = 42;
  std::vector<Arrival> trace;  // kTrace: from ParseTrace
};

// The workflows that start before the experiment ends, in start order.
// InvalidArgument (naming the option) for a duration that is not positive,
// a negative warm-up or one longer than the run, and a mean the model needs
// that is not positive.
Result<std::vector<Arrival>> Schedule(const ArrivalOptions& options);

// A workload trace: one "arrival,end_time" line (seconds, decimals allowed)
// per workflow; blank lines and lines starting with '#' are skipped.
// InvalidArgument "<name>:<line>: ..." for the first bad line: not two
// numbers, a negative time, an end not after its arrival, arrivals out of
// order.
Result<std::vector<Arrival>> ParseTrace(std::string_view text, std::string_view name);

}  // namespace aether::cli::bench
