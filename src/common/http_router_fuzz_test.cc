// libFuzzer target for request-target decoding and routing (bytes straight
// from the network). Input: the request target; its first byte also picks a
// method. Checks: no crash or UB; an accepted target gives a path starting
// with '/'; PercentDecode of a string without '%' (and no '+' as space) is
// the identity; the router answers every path with a handler, a 404 or a
// 405 carrying Allow, and its error bodies are valid JSON.
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>

#include "common/http_server.h"
#include "common/internal/http_router.h"
#include "common/json_util.h"
#include "common/result.h"

namespace {

using aether::HttpRequest;
using aether::HttpResponse;
using aether::http_internal::Router;

Router MakeRouter() {
  Router r;
  aether::GuardedHandler noop{nullptr, [](HttpRequest&&, aether::Responder) {}};
  r.Add("GET", "/health", false, noop);
  r.Add("POST", "/execute", false, noop);
  r.Add("GET", "/api/functions/", true, noop);
  r.Add("DELETE", "/api/functions/", true, noop);
  r.Add("PUT", "/api/", true, noop);
  r.Add("GET", "/", false, noop);
  return r;
}

constexpr std::string_view kMethods[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  HttpRequest req;
  req.method = kMethods[data[0] % std::size(kMethods)];
  req.target.assign(reinterpret_cast<const char*>(data + 1), size - 1);

  std::string decoded;
  bool ok = aether::http_internal::PercentDecode(req.target, false, decoded);
  if (req.target.find('%') == std::string::npos) {
    CHECK(ok);
    CHECK(decoded == req.target);
  }
  (void)aether::http_internal::PercentDecode(req.target, true, decoded);

  if (!aether::http_internal::SplitTarget(req)) return 0;
  CHECK(!req.path.empty() && req.path[0] == '/');

  // Built once and immutable afterwards, as in the server.
  static const Router router = MakeRouter();
  HttpResponse error;
  const aether::GuardedHandler* handler = router.Find(req, &error);
  if (handler == nullptr) {
    CHECK(error.status == 404 || error.status == 405);
    if (error.status == 405) CHECK(!error.Header("Allow").empty());
    auto body = aether::ParseJson(error.body);
    CHECK(body.ok() && body->is_object());
  }
  return 0;
}
