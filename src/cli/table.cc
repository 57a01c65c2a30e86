#include "cli/table.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <ctime>

#include "common/json_util.h"

namespace aether::cli {
namespace {

namespace json = boost::json;

size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

double NowSeconds() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

// "2024-05-01T12:03:04.123Z", "...+02:00", "2024-05-01 12:03:04".
bool ParseRfc3339(std::string_view s, double* out) {
  int y, mo, d, h, mi;
  double sec;
  int consumed = 0;
  std::string text(s);
  if (std::sscanf(text.c_str(), "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%lf%n", &y, &mo, &d, &h, &mi, &sec,
                  &consumed) != 6) {
    return false;
  }
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = 0;
  double t = static_cast<double>(timegm(&tm)) + sec;
  std::string_view zone = std::string_view(text).substr(static_cast<size_t>(consumed));
  if (zone.empty() || zone == "Z" || zone == "z") {
    *out = t;
    return true;
  }
  int zh = 0, zm = 0;
  char sign = zone[0];
  if ((sign != '+' && sign != '-') ||
      std::sscanf(std::string(zone.substr(1)).c_str(), "%2d:%2d", &zh, &zm) != 2) {
    return false;
  }
  double offset = zh * 3600.0 + zm * 60.0;
  *out = sign == '+' ? t - offset : t + offset;
  return true;
}

}  // namespace

void Table::AddRow(std::vector<std::string> cells) {
  cells.resize(headers_.size());
  rows_.push_back(std::move(cells));
}

void Table::Print(std::FILE* out) const {
  std::vector<size_t> width(headers_.size());
  for (size_t i = 0; i < headers_.size(); ++i) width[i] = CodePoints(headers_[i]);
  for (const auto& row : rows_) {
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], CodePoints(row[i]));
  }
  auto print_row = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(width[i] - CodePoints(row[i]) + 3, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    line += '\n';
    std::fputs(line.c_str(), out);
  };
  print_row(headers_);
  for (const auto& row : rows_) print_row(row);
}

std::string HumanBytes(uint64_t bytes) {
  static const char* kUnits[] = {"B", "KB", "MB", "GB", "TB"};
  double v = static_cast<double>(bytes);
  size_t u = 0;
  while (v >= 1024 && u + 1 < std::size(kUnits)) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0) {
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  } else if (v < 10) {
    std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[u]);
  } else {
    std::snprintf(buf, sizeof buf, "%.0f %s", v, kUnits[u]);
  }
  return buf;
}

std::string Cell(const json::value* v) {
  if (v == nullptr || v->is_null()) return "-";
  if (v->is_string()) return std::string(v->as_string());
  return ToJson(*v);
}

std::string Field(const json::object& obj, std::string_view key) {
  return Cell(obj.if_contains(key));
}

int64_t IntField(const json::object& obj, std::string_view key, int64_t fallback) {
  const json::value* v = obj.if_contains(key);
  if (v == nullptr) return fallback;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->as_uint64());
  if (v->is_double()) return static_cast<int64_t>(v->as_double());
  if (v->is_string()) {
    const std::string s(v->as_string());
    char* end = nullptr;
    long long n = std::strtoll(s.c_str(), &end, 10);
    if (!s.empty() && end != nullptr && *end == '\0') return n;
  }
  return fallback;
}

bool ParseTimestamp(const json::value& v, double* unix_seconds) {
  double n = 0;
  if (v.is_int64()) {
    n = static_cast<double>(v.as_int64());
  } else if (v.is_uint64()) {
    n = static_cast<double>(v.as_uint64());
  } else if (v.is_double()) {
    n = v.as_double();
  } else if (v.is_string()) {
    return ParseRfc3339(std::string_view(v.as_string()), unix_seconds);
  } else {
    return false;
  }
  // Milliseconds since 1970 pass 1e11 in 1973; seconds will not until 5138.
  *unix_seconds = n > 1e11 ? n / 1000 : n;
  return true;
}

std::string TimeCell(const json::value* v) {
  double t = 0;
  if (v == nullptr || !ParseTimestamp(*v, &t)) return Cell(v);
  std::time_t secs = static_cast<std::time_t>(std::floor(t));
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string LabelsCell(const json::value* labels) {
  if (labels == nullptr || !labels->is_object() || labels->as_object().empty()) return "-";
  std::string out;
  for (const auto& [k, v] : labels->as_object()) {
    if (!out.empty()) out += ',';
    out += std::string(k) + "=" + Cell(&v);
  }
  return out;
}

std::string AgeCell(const json::value* v) {
  double t = 0;
  if (v == nullptr || !ParseTimestamp(*v, &t)) return Cell(v);
  double age = std::max(0.0, NowSeconds() - t);
  auto n = static_cast<long long>(age);
  if (n < 60) return std::to_string(n) + "s ago";
  if (n < 3600) return std::to_string(n / 60) + "m ago";
  if (n < 86400) return std::to_string(n / 3600) + "h ago";
  return std::to_string(n / 86400) + "d ago";
}

std::string ShortHash(std::string_view sha256) { return std::string(sha256.substr(0, 12)); }

std::string Truncate(std::string_view text, size_t max) {
  if (CodePoints(text) <= max || max == 0) return std::string(text);
  std::string out;
  size_t n = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if ((c & 0xC0) != 0x80 && ++n > max - 1) break;
    out += text[i];
  }
  return out + "…";
}

}  // namespace aether::cli
