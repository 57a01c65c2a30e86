// Human output: aligned tables and the cell formats they use (sizes, ages,
// times, short hashes). Everything here is pure formatting; --json output
// never goes through it.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace aether::cli {

// Columns padded to their widest cell (counted in code points, so UTF-8
// labels line up), separated by three spaces; the last column is not
// padded, so lines carry no trailing blanks.
class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  void AddRow(std::vector<std::string> cells);
  bool empty() const { return rows_.empty(); }
  void Print(std::FILE* out) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// "512 B", "42 KB", "1.3 MB" (powers of 1024, as FormatSize in common/units.h).
std::string HumanBytes(uint64_t bytes);

// A JSON value as table text: strings as they are, null/absent as "-",
// anything else compact JSON.
std::string Cell(const boost::json::value* v);
// Field `key` of `obj` as Cell() text.
std::string Field(const boost::json::object& obj, std::string_view key);
// Field `key` as an integer (numbers or numeric strings); `fallback` otherwise.
int64_t IntField(const boost::json::object& obj, std::string_view key, int64_t fallback = 0);

// A timestamp as the control plane writes it — RFC 3339 text, or seconds or
// milliseconds since the epoch — as Unix seconds; false when unrecognised.
bool ParseTimestamp(const boost::json::value& v, double* unix_seconds);
// "2024-05-01 12:03:04" in UTC, or the raw value when it cannot be parsed.
std::string TimeCell(const boost::json::value* v);
// "12s ago", "5m ago", "3h ago", "2d ago", or the raw value.
std::string AgeCell(const boost::json::value* v);

// "k=v,k2=v2" of a labels object; "-" when there are none.
std::string LabelsCell(const boost::json::value* labels);

// The first 12 hex digits, as git does for short hashes.
std::string ShortHash(std::string_view sha256);

// Cuts `text` to at most `max` code points, marking the cut with "…".
std::string Truncate(std::string_view text, size_t max);

}  // namespace aether::cli
