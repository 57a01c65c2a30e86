// A strict reader of Prometheus text exposition format 0.0.4, written
// independently of common/internal/prometheus_text so that the integration
// tests check the servers' /metrics output against the format, not against
// our own writer. It accepts exactly what a scraper may rely on: every
// family has one "# HELP" and one "# TYPE" line before its samples, every
// sample belongs to the family above it (a histogram's _bucket with "le",
// _sum and _count), label values use only the escapes \\ \" \n, values
// parse as numbers, no series appears twice, counters end in _total.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace aether::testing {

struct Sample {
  std::string name;                                         // as written, suffix included
  std::vector<std::pair<std::string, std::string>> labels;  // unescaped, in written order
  double value = 0;
};

struct Exposition {
  std::map<std::string, std::string> types;  // family name -> counter, gauge, histogram
  std::vector<Sample> samples;
  std::vector<std::string> errors;  // one line each: what is wrong and the line number

  // The value of the one sample `name` whose labels are exactly `labels`
  // (any order), or nullopt.
  std::optional<double> Value(const std::string& name,
                              std::vector<std::pair<std::string, std::string>> labels = {}) const;
  // The samples of `name` that carry label k="v".
  std::vector<Sample> With(const std::string& name, const std::string& k,
                           const std::string& v) const;
};

Exposition ParseExposition(const std::string& text);

}  // namespace aether::testing
