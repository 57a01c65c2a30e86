// The one writer of Prometheus text (exposition format 0.0.4): sample
// values, label escaping, HELP/TYPE headers and series lines. Only
// MetricsRegistry uses it (common/metrics.cc); components never write
// exposition text themselves, they register families (common/metrics.h).
#pragma once

#include <string>
#include <string_view>

namespace aether::metrics_internal {

// Go's strconv formatting as Prometheus prints it: shortest round-trip
// representation, and the spellings +Inf, -Inf, NaN.
void AppendValue(std::string& out, double v);

// A label value, escaped for inside the quotes: backslash, double quote
// and newline. The only label escaper in the tree.
void AppendLabelValue(std::string& out, std::string_view v);

// "# HELP name help\n# TYPE name type\n"; the help text has backslash and
// newline escaped (quotes are not, per the format).
void AppendHeader(std::string& out, std::string_view name, std::string_view help,
                  std::string_view type);

// name+suffix{k="v",...,extra_name="extra_value"}, labels in the order
// given; no braces without labels. `Labels` is any range of pairs whose
// members convert to std::string_view. The extra label is the histogram's
// "le".
template <typename Labels>
void AppendSeries(std::string& out, std::string_view name, std::string_view suffix,
                  const Labels& labels, std::string_view extra_name = {},
                  std::string_view extra_value = {}) {
  out += name;
  out += suffix;
  char sep = '{';
  auto add = [&](std::string_view k, std::string_view v) {
    out += sep;
    sep = ',';
    out += k;
    out += "=\"";
    AppendLabelValue(out, v);
    out += '"';
  };
  for (const auto& [k, v] : labels) add(k, v);
  if (!extra_name.empty()) add(extra_name, extra_value);
  if (sep == ',') out += '}';
}

// One whole sample line: series, a space, the value, a newline.
template <typename Labels>
void AppendSample(std::string& out, std::string_view name, const Labels& labels, double value) {
  AppendSeries(out, name, "", labels);
  out += ' ';
  AppendValue(out, value);
  out += '\n';
}

}  // namespace aether::metrics_internal
