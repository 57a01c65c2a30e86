// Tests' shorthand for one request to an in-process ControlService, with
// the credentials the test names: `token` is "admin", "join", "node:<id>"
// (X-Aether-Node: <id> and the credential `credentials` holds for it) or ""
// (no Authorization header). A transport failure comes back as status 0
// with its message as the body, so the test's assertion shows it.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>

#include "common/testing/http_fetch.h"
#include "control/control_service.h"

namespace aether::control::testing {

inline HttpResponse CallService(const ControlService& service, std::string_view method,
                                const std::string& path, std::string_view body,
                                const std::string& token,
                                const std::map<std::string, std::string>& credentials = {},
                                std::chrono::milliseconds timeout = std::chrono::seconds(40)) {
  HttpHeaders h;
  if (token.starts_with("node:")) {
    std::string id = token.substr(5);
    auto it = credentials.find(id);
    h.emplace_back("X-Aether-Node", id);
    h.emplace_back("Authorization", "Bearer " + (it == credentials.end() ? "" : it->second));
  } else if (!token.empty()) {
    h.emplace_back("Authorization",
                   "Bearer " + (token == "admin" ? service.admin_token() : service.join_token()));
  }
  Result<HttpResponse> r = HttpFetch(method, service.url() + path, body, h, timeout);
  if (!r.ok()) return HttpResponse{0, "", r.status().message(), {}};
  return std::move(*r);
}

}  // namespace aether::control::testing
