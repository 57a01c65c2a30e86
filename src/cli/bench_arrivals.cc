#include "cli/bench_arrivals.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>

namespace aether::cli::bench {
namespace {

// Inverse-CDF sampling on the raw 64-bit engine: std::exponential_distribution
// may differ between standard libraries, and a seed must name one schedule.
double Exponential(std::mt19937_64& rng, double mean) {
  double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;  // [0, 1)
  return -mean * std::log1p(-u);
}

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

Status Positive(double value, std::string_view option) {
  if (value > 0 && std::isfinite(value)) return OkStatus();
  return InvalidArgument("--" + std::string(option) +
                         " must be a positive number of seconds (got " + Num(value) + ")");
}

bool ParseNumber(std::string_view field, double* out) {
  while (!field.empty() && (field.front() == ' ' || field.front() == '\t')) field.remove_prefix(1);
  while (!field.empty() && (field.back() == ' ' || field.back() == '\t' || field.back() == '\r')) {
    field.remove_suffix(1);
  }
  if (field.empty()) return false;
  std::string text(field);
  char* end = nullptr;
  errno = 0;
  *out = std::strtod(text.c_str(), &end);
  return errno == 0 && end == text.c_str() + text.size() && std::isfinite(*out);
}

}  // namespace

Result<ArrivalKind> ParseArrivalKind(std::string_view name) {
  for (ArrivalKind k : {ArrivalKind::kPoisson, ArrivalKind::kIncremental, ArrivalKind::kIncrAndKeep,
                        ArrivalKind::kSingle, ArrivalKind::kTrace}) {
    if (name == ArrivalKindName(k)) return k;
  }
  return InvalidArgument("unknown arrival model \"" + std::string(name) +
                         "\" (known: poisson, incremental, incr-and-keep, single, trace)");
}

std::string_view ArrivalKindName(ArrivalKind kind) {
  switch (kind) {
    case ArrivalKind::kPoisson:
      return "poisson";
    case ArrivalKind::kIncremental:
      return "incremental";
    case ArrivalKind::kIncrAndKeep:
      return "incr-and-keep";
    case ArrivalKind::kSingle:
      return "single";
    case ArrivalKind::kTrace:
      return "trace";
  }
  return "?";
}

Result<std::vector<Arrival>> Schedule(const ArrivalOptions& o) {
  RETURN_IF_ERROR(Positive(o.duration_s, "duration"));
  if (!(o.warmup_s >= 0) || o.warmup_s > o.duration_s) {
    return InvalidArgument("--warmup must be between 0 and --duration (got " + Num(o.warmup_s) +
                           " s)");
  }
  const double d = o.duration_s;
  std::vector<Arrival> out;
  switch (o.kind) {
    case ArrivalKind::kPoisson: {
      RETURN_IF_ERROR(Positive(o.interarrival_s, "interarrival"));
      RETURN_IF_ERROR(Positive(o.lifetime_s, "lifetime"));
      std::mt19937_64 rng(o.seed);
      // Both draws per workflow, in this order, so a seed fixes the pairs.
      for (double t = Exponential(rng, o.interarrival_s); t < d;
           t += Exponential(rng, o.interarrival_s)) {
        out.push_back({t, t + Exponential(rng, o.lifetime_s)});
      }
      break;
    }
    case ArrivalKind::kIncremental:
      RETURN_IF_ERROR(Positive(o.interarrival_s, "interarrival"));
      RETURN_IF_ERROR(Positive(o.lifetime_s, "lifetime"));
      for (size_t k = 0; static_cast<double>(k) * o.interarrival_s < d; ++k) {
        double t = static_cast<double>(k) * o.interarrival_s;
        out.push_back({t, t + o.lifetime_s});
      }
      break;
    case ArrivalKind::kIncrAndKeep:
      RETURN_IF_ERROR(Positive(o.interarrival_s, "interarrival"));
      if (!(o.warmup_s > 0)) {
        return InvalidArgument(
            "--arrival-model incr-and-keep adds workflows during --warmup: "
            "give a positive --warmup");
      }
      for (size_t k = 0; static_cast<double>(k) * o.interarrival_s < o.warmup_s; ++k) {
        out.push_back({static_cast<double>(k) * o.interarrival_s, d});
      }
      break;
    case ArrivalKind::kSingle:
      out.push_back({0, d});
      break;
    case ArrivalKind::kTrace:
      for (const Arrival& a : o.trace) {
        if (a.start_s < d) out.push_back(a);
      }
      break;
  }
  return out;
}

Result<std::vector<Arrival>> ParseTrace(std::string_view text, std::string_view name) {
  std::vector<Arrival> out;
  size_t line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string_view::npos || line[first] == '#') continue;
    auto bad = [&](const std::string& why) {
      return InvalidArgument(std::string(name) + ":" + std::to_string(line_no) + ": " + why);
    };
    size_t comma = line.find(',');
    Arrival a;
    if (comma == std::string_view::npos || line.find(',', comma + 1) != std::string_view::npos ||
        !ParseNumber(line.substr(0, comma), &a.start_s) ||
        !ParseNumber(line.substr(comma + 1), &a.end_s)) {
      return bad("expected \"arrival,end_time\" in seconds");
    }
    if (a.start_s < 0 || a.end_s < 0) return bad("times cannot be negative");
    if (a.end_s <= a.start_s) return bad("the end time must come after the arrival");
    if (!out.empty() && a.start_s < out.back().start_s) {
      return bad("arrivals must not go back in time (the previous one is at " +
                 Num(out.back().start_s) + " s)");
    }
    out.push_back(a);
  }
  if (out.empty()) return InvalidArgument(std::string(name) + ": no workflows in the trace");
  return out;
}

}  // namespace aether::cli::bench
