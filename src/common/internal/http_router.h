// Private to the HTTP server: request-target decoding and routing. Kept
// apart from the connection code so both can be tested (and fuzzed)
// without sockets. Pure functions and a Router that is immutable once the
// server has started: any thread may call them.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/http_server.h"

namespace aether::http_internal {

// ASCII case-insensitive comparison (header names, "100-continue").
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// Value of the first header named `name` (case-insensitive); empty when
// absent.
std::string_view FindHeader(const HttpHeaders& headers, std::string_view name);

// Decodes %XX escapes (and '+' as a space when `plus_is_space`) of `in` into
// `out`. False for a truncated or non-hex escape; `out` then holds a prefix.
bool PercentDecode(std::string_view in, bool plus_is_space, std::string& out);

// Fills req.path and req.query from req.target (origin or absolute form).
// False for a target we cannot route: not starting with '/', or a bad
// percent escape in the path or the query.
bool SplitTarget(HttpRequest& req);

// Exact paths and prefixes, each with its handlers by method. Add() only
// before the server starts; Find() from any thread afterwards.
class Router {
 public:
  // Adds or replaces the route for (method, path); `prefix` makes `path`
  // match every path starting with it.
  void Add(std::string_view method, std::string_view path, bool prefix, GuardedHandler route);

  // The exact path first, then the longest matching prefix; that entry
  // alone decides. Needs only req.method and req.path, so it can run on the
  // header. Returns the route (HEAD falls back to GET), or nullptr with the
  // 404 (no entry) or 405 (with Allow) response in *error.
  const GuardedHandler* Find(const HttpRequest& req, HttpResponse* error) const;

 private:
  struct PathEntry {
    std::vector<std::pair<std::string, GuardedHandler>> methods;
  };

  std::unordered_map<std::string, PathEntry> exact_;
  std::vector<std::pair<std::string, PathEntry>> prefixes_;  // longest first
};

}  // namespace aether::http_internal
