#include "common/units.h"

#include <cctype>
#include <cmath>
#include <string>

namespace aether {
namespace {

struct NumberAndUnit {
  double number = 0;
  std::string unit;
};

Status Split(std::string_view text, std::string_view what, NumberAndUnit* out) {
  std::string_view t = text;
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.front()))) t.remove_prefix(1);
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.remove_suffix(1);
  size_t i = 0;
  bool digits = false;
  bool dot = false;
  while (i < t.size()) {
    char c = t[i];
    if (std::isdigit(static_cast<unsigned char>(c))) {
      digits = true;
    } else if (c == '.' && !dot) {
      dot = true;
    } else {
      break;
    }
    ++i;
  }
  if (!digits || i > 20) {
    return InvalidArgument("invalid " + std::string(what) + " \"" + std::string(text) +
                           "\": expected a non-negative number with a unit");
  }
  out->number = std::stod(std::string(t.substr(0, i)));
  std::string_view unit = t.substr(i);
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  out->unit.clear();
  for (char c : unit)
    out->unit.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return OkStatus();
}

}  // namespace

Result<std::chrono::nanoseconds> ParseDuration(std::string_view text) {
  NumberAndUnit nu;
  RETURN_IF_ERROR(Split(text, "duration", &nu));
  double scale = 0;
  if (nu.unit == "ns")
    scale = 1;
  else if (nu.unit == "us" || nu.unit == "µs")
    scale = 1e3;
  else if (nu.unit == "ms")
    scale = 1e6;
  else if (nu.unit == "s" || nu.unit.empty())
    scale = 1e9;
  else if (nu.unit == "m" || nu.unit == "min")
    scale = 60e9;
  else if (nu.unit == "h")
    scale = 3600e9;
  else {
    return InvalidArgument("invalid duration \"" + std::string(text) +
                           "\": unknown unit (use ns, us, ms, s, m or h)");
  }
  double ns = nu.number * scale;
  if (!std::isfinite(ns) || ns > 9.2e18) {
    return InvalidArgument("invalid duration \"" + std::string(text) + "\": too large");
  }
  return std::chrono::nanoseconds(static_cast<int64_t>(ns));
}

Result<uint64_t> ParseSize(std::string_view text) {
  NumberAndUnit nu;
  RETURN_IF_ERROR(Split(text, "size", &nu));
  double scale = 0;
  if (nu.unit.empty() || nu.unit == "b")
    scale = 1;
  else if (nu.unit == "k" || nu.unit == "kb" || nu.unit == "kib")
    scale = 1024.0;
  else if (nu.unit == "m" || nu.unit == "mb" || nu.unit == "mib")
    scale = 1024.0 * 1024;
  else if (nu.unit == "g" || nu.unit == "gb" || nu.unit == "gib")
    scale = 1024.0 * 1024 * 1024;
  else {
    return InvalidArgument("invalid size \"" + std::string(text) +
                           "\": unknown unit (use B, KB, MB or GB)");
  }
  double bytes = nu.number * scale;
  if (!std::isfinite(bytes) || bytes > 1.8e19) {
    return InvalidArgument("invalid size \"" + std::string(text) + "\": too large");
  }
  return static_cast<uint64_t>(bytes);
}

std::string FormatDuration(std::chrono::nanoseconds d) {
  int64_t ns = d.count();
  if (ns % 1000000000 == 0) return std::to_string(ns / 1000000000) + "s";
  if (ns % 1000000 == 0) return std::to_string(ns / 1000000) + "ms";
  if (ns % 1000 == 0) return std::to_string(ns / 1000) + "us";
  return std::to_string(ns) + "ns";
}

std::string FormatSize(uint64_t bytes) {
  if (bytes != 0 && bytes % (1ull << 30) == 0) return std::to_string(bytes >> 30) + "GB";
  if (bytes != 0 && bytes % (1ull << 20) == 0) return std::to_string(bytes >> 20) + "MB";
  if (bytes != 0 && bytes % (1ull << 10) == 0) return std::to_string(bytes >> 10) + "KB";
  return std::to_string(bytes) + "B";
}

}  // namespace aether
