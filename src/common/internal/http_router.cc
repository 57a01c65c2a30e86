#include "common/internal/http_router.h"

#include <algorithm>

namespace aether::http_internal {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string_view FindHeader(const HttpHeaders& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (EqualsIgnoreCase(k, name)) return v;
  }
  return {};
}

bool PercentDecode(std::string_view in, bool plus_is_space, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int hi = HexValue(in[i + 1]), lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return true;
}

bool SplitTarget(HttpRequest& req) {
  std::string_view target = req.target;
  // Absolute form ("http://host/path") is legal for requests to a server.
  if (target.starts_with("http://") || target.starts_with("https://")) {
    size_t slash = target.find('/', target.find("//") + 2);
    target = slash == std::string_view::npos ? "/" : target.substr(slash);
  }
  if (target.empty() || target[0] != '/') return false;
  size_t q = target.find('?');
  std::string_view raw_path = target.substr(0, q);
  if (raw_path.find('%') == std::string_view::npos) {
    req.path.assign(raw_path);
  } else if (!PercentDecode(raw_path, false, req.path)) {
    return false;
  }
  if (q == std::string_view::npos) return true;
  std::string_view query = target.substr(q + 1);
  std::string key, value;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    if (!PercentDecode(pair.substr(0, eq), true, key)) return false;
    if (!PercentDecode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true, value)) {
      return false;
    }
    req.query.insert_or_assign(key, value);
  }
  return true;
}

void Router::Add(std::string_view method, std::string_view path, bool prefix,
                 GuardedHandler route) {
  PathEntry* entry = nullptr;
  if (!prefix) {
    entry = &exact_[std::string(path)];
  } else {
    for (auto& [p, e] : prefixes_) {
      if (p == path) entry = &e;
    }
    if (entry == nullptr) {
      prefixes_.emplace_back(std::string(path), PathEntry{});
      entry = &prefixes_.back().second;
    }
  }
  for (auto& [m, h] : entry->methods) {
    if (m == method) {
      h = std::move(route);
      return;
    }
  }
  entry->methods.emplace_back(std::string(method), std::move(route));
  // Longest prefix first, so the first match is the most specific one.
  std::stable_sort(prefixes_.begin(), prefixes_.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
}

const GuardedHandler* Router::Find(const HttpRequest& req, HttpResponse* error) const {
  const PathEntry* entry = nullptr;
  if (auto it = exact_.find(req.path); it != exact_.end()) {
    entry = &it->second;
  } else {
    for (const auto& [p, e] : prefixes_) {
      if (req.path.starts_with(p)) {
        entry = &e;
        break;
      }
    }
  }
  if (entry == nullptr) {
    *error = JsonError(404, "not_found", "no route for " + req.path.substr(0, 256));
    return nullptr;
  }
  const GuardedHandler* get = nullptr;
  std::string allow;
  for (const auto& [m, h] : entry->methods) {
    if (m == req.method) return &h;
    if (m == "GET") get = &h;
    if (!allow.empty()) allow += ", ";
    allow += m;
  }
  if (get != nullptr && req.method == "HEAD") return get;
  *error = JsonError(405, "method_not_allowed",
                     "method " + req.method.substr(0, 32) + " is not allowed for " +
                         req.path.substr(0, 256) + " (allowed: " + allow + ")");
  error->headers.emplace_back("Allow", std::move(allow));
  return nullptr;
}

}  // namespace aether::http_internal
