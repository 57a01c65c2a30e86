#include "exposition.h"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <set>
#include <string_view>

namespace aether::testing {
namespace {

using Labels = std::vector<std::pair<std::string, std::string>>;

bool IsNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }

// Reads a metric or label name at `pos` (label names take no ':').
bool ReadName(std::string_view line, size_t& pos, bool label, std::string& out) {
  size_t start = pos;
  while (pos < line.size() && IsNameChar(line[pos]) && !(label && line[pos] == ':')) ++pos;
  out = std::string(line.substr(start, pos - start));
  return !out.empty() && IsNameStart(out[0]) && !(label && out[0] == ':');
}

// Reads {k="v",...} at `pos` (already at '{'), unescaping the values.
// Returns what is wrong, or "".
std::string ReadLabels(std::string_view line, size_t& pos, Labels& out) {
  ++pos;
  while (pos < line.size() && line[pos] != '}') {
    std::string key;
    if (!ReadName(line, pos, true, key)) return "bad label name";
    if (line.substr(pos, 2) != "=\"") return "label " + key + " without =\"";
    pos += 2;
    std::string value;
    while (pos < line.size() && line[pos] != '"') {
      if (line[pos] != '\\') {
        value += line[pos++];
        continue;
      }
      char e = pos + 1 < line.size() ? line[pos + 1] : '\0';
      if (e == '\\' || e == '"') {
        value += e;
      } else if (e == 'n') {
        value += '\n';
      } else {
        return "a backslash not followed by \\, \" or n";
      }
      pos += 2;
    }
    if (pos >= line.size()) return "unterminated label value";
    ++pos;  // the closing quote
    out.emplace_back(std::move(key), std::move(value));
    if (pos < line.size() && line[pos] == ',') ++pos;
  }
  if (pos >= line.size()) return "unterminated label set";
  ++pos;  // '}'
  return "";
}

bool ReadValue(std::string_view text, double& out) {
  if (text == "+Inf" || text == "-Inf" || text == "NaN") {
    constexpr double kInf = std::numeric_limits<double>::infinity();
    out =
        text == "NaN" ? std::numeric_limits<double>::quiet_NaN() : (text[0] == '+' ? kInf : -kInf);
    return true;
  }
  std::string s(text);
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return !s.empty() && end == s.c_str() + s.size() && s.find_first_of("iInN") == std::string::npos;
}

// The family a sample named `name` belongs to, given the current family.
bool BelongsTo(const std::string& name, const std::string& family, const std::string& type,
               const Labels& labels) {
  if (type != "histogram") return name == family;
  bool has_le =
      std::any_of(labels.begin(), labels.end(), [](const auto& l) { return l.first == "le"; });
  if (name == family + "_bucket") return has_le;
  return (name == family + "_sum" || name == family + "_count") && !has_le;
}

}  // namespace

std::optional<double> Exposition::Value(const std::string& name, Labels labels) const {
  std::sort(labels.begin(), labels.end());
  for (const Sample& s : samples) {
    Labels l = s.labels;
    std::sort(l.begin(), l.end());
    if (s.name == name && l == labels) return s.value;
  }
  return std::nullopt;
}

std::vector<Sample> Exposition::With(const std::string& name, const std::string& k,
                                     const std::string& v) const {
  std::vector<Sample> out;
  for (const Sample& s : samples) {
    if (s.name != name) continue;
    for (const auto& [lk, lv] : s.labels) {
      if (lk == k && lv == v) out.push_back(s);
    }
  }
  return out;
}

Exposition ParseExposition(const std::string& text) {
  Exposition e;
  auto fail = [&](size_t n, const std::string& why) {
    e.errors.push_back("line " + std::to_string(n) + ": " + why);
  };
  if (text.empty() || text.back() != '\n') fail(0, "the text does not end with a newline");
  std::set<std::string> helped;
  std::set<std::pair<std::string, Labels>> seen;
  std::string family, type, pending_help;
  size_t n = 0;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + start, end - start);
    start = end + 1;
    ++n;
    if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
      size_t pos = 7;
      std::string name;
      if (!ReadName(line, pos, false, name) || pos >= line.size() || line[pos] != ' ') {
        fail(n, "bad metric name in a comment");
        continue;
      }
      std::string rest(line.substr(pos + 1));
      if (line[2] == 'H') {
        if (!helped.insert(name).second) fail(n, "second HELP for " + name);
        pending_help = name;
        continue;
      }
      if (pending_help != name) fail(n, "TYPE of " + name + " not right after its HELP");
      pending_help.clear();
      if (e.types.count(name)) fail(n, "second TYPE for " + name);
      if (rest != "counter" && rest != "gauge" && rest != "histogram") fail(n, "type " + rest);
      if (rest == "counter" && !name.ends_with("_total")) fail(n, "counter without _total");
      e.types[name] = rest;
      family = name;
      type = rest;
      continue;
    }
    if (line.empty() || line[0] == '#') {
      fail(n, "empty or unknown comment line");
      continue;
    }
    Sample s;
    size_t pos = 0;
    if (!ReadName(line, pos, false, s.name)) {
      fail(n, "bad metric name");
      continue;
    }
    if (pos < line.size() && line[pos] == '{') {
      if (std::string why = ReadLabels(line, pos, s.labels); !why.empty()) {
        fail(n, why);
        continue;
      }
    }
    if (pos >= line.size() || line[pos] != ' ' || !ReadValue(line.substr(pos + 1), s.value)) {
      fail(n, "bad value");
      continue;
    }
    if (family.empty() || !pending_help.empty() || !BelongsTo(s.name, family, type, s.labels)) {
      fail(n, s.name + " outside its family (current: " + family + ")");
    }
    Labels sorted = s.labels;
    std::sort(sorted.begin(), sorted.end());
    if (!seen.emplace(s.name, sorted).second) fail(n, "duplicate series " + std::string(line));
    e.samples.push_back(std::move(s));
  }
  if (!pending_help.empty()) fail(n, "HELP of " + pending_help + " without TYPE");
  return e;
}

}  // namespace aether::testing
