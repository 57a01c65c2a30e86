// http-ingress: /wf/{workflow}/{path} requests turned into an event to the
// ingress's single output (docs/workflow-protocol.md); in portal mode, the
// batches of casts and the calls of a portal in another domain ("Portals
// (links between domains)").
#include <algorithm>
#include <charconv>
#include <optional>
#include <utility>

#include "common/base64.h"
#include "common/http_server.h"
#include "common/json_util.h"
#include "common/node_credential.h"
#include "workflow/edgeless_http.h"
#include "workflow/internal/event_ids.h"
#include "workflow/internal/host_impl.h"
#include "workflow/internal/resource_actor.h"
#include "workflow/portal_codec.h"

namespace aether::workflow::internal {

IngressReply IngressError(int status, std::string_view code, std::string_view message) {
  // A 503 (full, not running yet) is worth retrying soon.
  return IngressReply{status, "application/json", JsonError(status, code, message).body,
                      status == 503 ? 1 : 0};
}

namespace {

// Idempotency-Key: 1 to kMaxIdempotencyKey visible ASCII characters.
constexpr size_t kMaxIdempotencyKey = 255;

// A portal's call may wait at most this long (X-Aether-Timeout-Ms).
constexpr int64_t kMaxPortalTimeoutMs = 60000;

// The HTTP status and error code of a failed delivery.
struct DeliveryError {
  int status;
  std::string_view code;
};

DeliveryError DeliveryErrorFor(const Status& st) {
  switch (st.code()) {
    case Code::kDeadlineExceeded:
      return {504, "timeout"};
    case Code::kInternal:
      return {502, "target_failed"};
    case Code::kResourceExhausted:
      return {503, "full"};
    default:
      return {503, "unavailable"};
  }
}

// The reply of an EDGELESS function to EDGELESS's HTTP request: its
// status, body, content type and the headers a client may see; a reply
// that is not EDGELESS's HTTP response is the function's fault, a 502.
IngressReply FromEdgelessResponse(std::string_view reply, const std::string& default_type) {
  Result<EdgelessResponse> r = DecodeEdgelessResponse(reply);
  if (!r.ok()) return IngressError(502, "bad_gateway", r.status().message());
  auto type = r->headers.find("content-type");
  IngressReply out{r->status, type != r->headers.end() ? type->second : default_type,
                   std::move(r->body)};
  out.headers = EdgelessResponseHeaders(r->headers);
  return out;
}

IngressReply ErrorFor(const Status& st) {
  DeliveryError e = DeliveryErrorFor(st);
  return IngressError(e.status, e.code, st.message());
}

// A portal's batch of which the target took the first `accepted` events:
// always 503 (the sender keeps the rest and sends them again), with the
// code of the refusal and the count.
IngressReply PortalRefusal(const Status& st, size_t accepted) {
  IngressReply r = IngressError(503, DeliveryErrorFor(st).code, st.message());
  r.body.pop_back();  // the closing brace of {"error":...,"code":...}
  r.body += ",\"accepted\":" + std::to_string(accepted) + "}";
  return r;
}

IngressReply PortalAccepted(size_t accepted) {
  return IngressReply{200, "application/json", "{\"accepted\":" + std::to_string(accepted) + "}"};
}

IngressReply PortalOnly(std::string_view id) {
  return IngressError(400, "portal_only",
                      "this ingress takes only portal requests from another domain (" +
                          std::string(id) +
                          " is the end of a link between domains: X-Aether-Portal: cast or call)");
}

// X-Aether-Timeout-Ms of a portal's call: 1..kMaxPortalTimeoutMs.
std::optional<std::chrono::milliseconds> ParsePortalTimeout(std::string_view text) {
  int64_t ms = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || ms < 1 ||
      ms > kMaxPortalTimeoutMs) {
    return std::nullopt;
  }
  return std::chrono::milliseconds(ms);
}

}  // namespace

std::optional<IngressReply> IngressActor::CheckIdempotencyKey(
    std::string_view key, const HttpIngressConfig& config) const {
  bool visible = std::all_of(key.begin(), key.end(), [](char c) { return c > ' ' && c < 127; });
  if (key.size() > kMaxIdempotencyKey || !visible) {
    return IngressError(400, "invalid_idempotency_key",
                        "Idempotency-Key must be 1 to " + std::to_string(kMaxIdempotencyKey) +
                            " visible ASCII characters (no spaces)");
  }
  // Only a logged event can be stored once; elsewhere the key would
  // promise what nothing keeps, so it is refused rather than ignored.
  if (config.call || !logged()) {
    return IngressError(
        400, "idempotency_key_not_supported",
        "the ingress " + id() + " cannot honour Idempotency-Key: only a cast-mode ingress of an " +
            "at-least-once workflow stores a request once (" +
            (config.call ? "this one is in call mode" : "this workflow is at-most-once") +
            "); send the request without it");
  }
  return std::nullopt;
}

IngressActor::~IngressActor() = default;

Status IngressActor::StartInstance(const InstanceAssignment& a, Failure* /*trapped*/) {
  ASSIGN_OR_RETURN(HttpIngressConfig config, ParseHttpIngressConfig(a.configurations, a.component));
  std::lock_guard lock(config_mu_);
  config_ = std::make_shared<const HttpIngressConfig>(std::move(config));
  return OkStatus();
}

Actor::Outcome IngressActor::Handle(Event& /*e*/, CallReply* /*reply*/, Failure* failure) {
  failure->message = "an http-ingress takes no events";
  return Outcome::kFailed;
}

void IngressActor::StopInstance(bool /*graceful*/) {
  std::lock_guard lock(config_mu_);
  config_.reset();
}

IngressReply IngressActor::NotRunning() const {
  return IngressError(
      503, "unavailable",
      "the ingress " + id() + " is not running (" + std::string(StateName(state())) + ")");
}

std::optional<std::string> IngressActor::Output(
    const std::function<void(IngressReply)>& done) const {
  std::shared_ptr<const Wiring> w = wiring();
  if (w == nullptr || w->empty()) {
    done(IngressError(503, "unavailable", "the ingress " + id() + " has no output mapped"));
    return std::nullopt;
  }
  return w->begin()->first;
}

std::shared_ptr<const HttpIngressConfig> IngressActor::config() const {
  std::lock_guard lock(config_mu_);
  return config_;
}

void IngressActor::Request(std::string_view method, std::string_view idempotency_key,
                           const IngressHttp* http, std::string body,
                           std::function<void(IngressReply)> done) {
  std::shared_ptr<const HttpIngressConfig> config = this->config();
  if (config == nullptr) {
    done(NotRunning());
    return;
  }
  if (config->portal) {
    done(PortalOnly(id()));
    return;
  }
  if (std::find(config->methods.begin(), config->methods.end(), method) == config->methods.end()) {
    std::string allowed;
    for (const std::string& m : config->methods) allowed += (allowed.empty() ? "" : ", ") + m;
    done(IngressError(405, "method_not_allowed",
                      "method " + std::string(method) + " not allowed (allowed: " + allowed + ")"));
    return;
  }
  if (config->edgeless && config->call && !EdgelessMethod(method)) {
    done(IngressError(405, "method_not_allowed",
                      "method " + std::string(method) +
                          " has no name in EDGELESS's HTTP request (GET, HEAD, POST, PUT, "
                          "DELETE, PATCH)"));
    return;
  }
  std::optional<std::string> mapped = Output(done);
  if (!mapped) return;
  const std::string& output = *mapped;
  if (body.size() > kMaxPayload) {
    done(IngressError(413, "too_large", "the body is over 1 MiB"));
    return;
  }
  if (!config->call && config->encode_base64) body = Base64Encode(body);
  if (config->call && config->edgeless) {
    // EDGELESS's ingress passes the path as the client sent it; here that
    // is the ingress's path below /wf/{workflow}/, with the query.
    static const IngressHttp kNone;
    const IngressHttp& h = http != nullptr ? *http : kNone;
    std::string target = "/" + config->path;
    if (!h.query.empty()) target.append("?").append(h.query);
    body = EncodeEdgelessRequest(
        method, h.host, target, body,
        h.headers != nullptr ? EdgelessHeaders(*h.headers) : std::map<std::string, std::string>{});
  }
  // EDGELESS answers a cast 200 "OK"; Aether 202 with JSON.
  IngressReply accepted = config->edgeless
                              ? IngressReply{200, "text/plain", "OK"}
                              : IngressReply{202, "application/json", "{\"accepted\":true}"};
  if (!idempotency_key.empty()) {
    if (std::optional<IngressReply> bad = CheckIdempotencyKey(idempotency_key, *config)) {
      done(std::move(*bad));
      return;
    }
  }
  if (!config->call && logged()) {
    // 202 once the log stored the event; that round trip is not for the IO
    // thread. With an Idempotency-Key the event id comes from it: a retry
    // of the request is stored once.
    std::string event_id = idempotency_key.empty()
                               ? std::string()
                               : IngressEventId(workflow(), component(), idempotency_key);
    auto reply = std::make_shared<std::function<void(IngressReply)>>(std::move(done));
    auto self = std::static_pointer_cast<IngressActor>(shared_from_this());
    core_.Post(
        [self, reply, output, accepted, body = std::move(body),
         event_id = std::move(event_id)]() mutable {
          Status st = self->core_.AppendFrom(
              *self, output, body,
              std::chrono::steady_clock::now() + self->core_.options().log_append_timeout,
              std::move(event_id), /*at_edge=*/true);
          (*reply)(st.ok() ? accepted : ErrorFor(st));
        },
        [reply] { (*reply)(IngressError(503, "unavailable", "the node is stopping")); });
    return;
  }
  if (!config->call) {
    // On the IO thread: never waits; a full first target is the refusal
    // that the flow control carries back from the slowest stage.
    Status st = core_.CastFrom(*this, output, body, kNoWait, /*at_edge=*/true);
    if (!st.ok()) {
      done(ErrorFor(st));
      return;
    }
    done(std::move(accepted));
    return;
  }
  core_.CallFrom(*this, output, body, config->timeout,
                 [done = std::move(done), type = config->content_type,
                  edgeless = config->edgeless](Result<CallReply> r) {
                   if (!r.ok()) {
                     done(ErrorFor(r.status()));
                     return;
                   }
                   if (!edgeless) {
                     done(IngressReply{200, type, std::move(r->bytes)});
                     return;
                   }
                   if (r->none) {
                     done(IngressError(502, "no_reply",
                                       "the function answered CallRet::NoReply; an http-ingress "
                                       "in EDGELESS's format needs EDGELESS's HTTP response JSON "
                                       "(CallRet::Reply)"));
                     return;
                   }
                   done(FromEdgelessResponse(r->bytes, type));
                 });
}

void IngressActor::Portal(std::string_view method, const PortalRequest& portal, std::string body,
                          std::function<void(IngressReply)> done) {
  std::shared_ptr<const HttpIngressConfig> config = this->config();
  if (config == nullptr) {
    done(NotRunning());
    return;
  }
  if (!config->portal) {
    done(IngressError(400, "not_a_portal",
                      "the ingress " + id() + " is in " + (config->call ? "call" : "cast") +
                          " mode, not a portal: X-Aether-Portal is only for the end of a link " +
                          "from another domain; send the request without it"));
    return;
  }
  if (portal.mode != "cast" && portal.mode != "call") {
    done(PortalOnly(id()));
    return;
  }
  // SHA-256 of what was sent against the configured digest, in constant time.
  if (!MatchesDigest(portal.token, config->token_sha256)) {
    done(
        IngressError(403, "permission_denied",
                     "the portal " + id() +
                         " takes requests only with the token of its link (X-Aether-Portal-Token " +
                         (portal.token.empty() ? "missing" : "wrong") + ")"));
    return;
  }
  if (method != "POST") {
    done(IngressError(405, "method_not_allowed",
                      "a portal takes only POST, not " + SanitizeUtf8(method.substr(0, 16))));
    return;
  }
  std::optional<std::string> mapped = Output(done);
  if (!mapped) return;
  const std::string& output = *mapped;
  if (portal.mode == "cast") {
    PortalCasts(output, std::move(body), std::move(done));
    return;
  }
  if (body.size() > kMaxPayload) {
    done(IngressError(413, "too_large", "the body is over 1 MiB"));
    return;
  }
  // The caller's remaining timeout, capped by this ingress's timeout_ms; a
  // call without the header gets timeout_ms.
  std::chrono::milliseconds timeout = config->timeout;
  if (!portal.timeout_ms.empty()) {
    std::optional<std::chrono::milliseconds> given = ParsePortalTimeout(portal.timeout_ms);
    if (!given) {
      done(IngressError(400, "invalid_timeout",
                        "X-Aether-Timeout-Ms must be milliseconds, 1.." +
                            std::to_string(kMaxPortalTimeoutMs) + ": " +
                            SanitizeUtf8(std::string_view(portal.timeout_ms).substr(0, 32))));
      return;
    }
    timeout = std::min(timeout, *given);
  }
  // A call across domains carries bytes: "no reply" arrives as an empty one.
  core_.CallFrom(*this, output, body, timeout, [done = std::move(done)](Result<CallReply> r) {
    if (!r.ok()) {
      done(ErrorFor(r.status()));
      return;
    }
    done(IngressReply{200, "application/octet-stream", std::move(r->bytes)});
  });
}

void IngressActor::PortalCasts(const std::string& output, std::string body,
                               std::function<void(IngressReply)> done) {
  // Shared and never moved again: the decoded views point into it.
  auto batch = std::make_shared<const std::string>(std::move(body));
  Result<std::vector<std::string_view>> events = DecodePortalBatch(*batch);
  if (!events.ok()) {
    done(IngressError(400, "invalid_batch", events.status().message()));
    return;
  }
  if (!logged()) {
    // On the IO thread, as a cast-mode ingress: never waits. The first
    // refusal ends the batch, so what the target took is a prefix.
    size_t taken = 0;
    for (std::string_view payload : *events) {
      Status st = core_.CastFrom(*this, output, payload, kNoWait, /*at_edge=*/true);
      if (!st.ok()) {
        done(PortalRefusal(st, taken));
        return;
      }
      ++taken;
    }
    done(PortalAccepted(taken));
    return;
  }
  // At-least-once: appended in order on a pool worker, within one
  // log_append_timeout for the batch; answered once stored.
  auto reply = std::make_shared<std::function<void(IngressReply)>>(std::move(done));
  auto self = std::static_pointer_cast<IngressActor>(shared_from_this());
  core_.Post(
      [self, reply, output, batch, events = std::move(*events)] {
        WaitUntil deadline =
            std::chrono::steady_clock::now() + self->core_.options().log_append_timeout;
        size_t taken = 0;
        for (std::string_view payload : events) {
          Status st = self->core_.AppendFrom(*self, output, payload, deadline, std::string(),
                                             /*at_edge=*/true);
          if (!st.ok()) {
            (*reply)(PortalRefusal(st, taken));
            return;
          }
          ++taken;
        }
        (*reply)(PortalAccepted(taken));
      },
      [reply] { (*reply)(PortalRefusal(Unavailable("the node is stopping"), 0)); });
}

std::shared_ptr<IngressActor> HostImpl::FindIngress(
    std::string_view workflow, std::string_view path,
    const std::function<void(IngressReply)>& done) const {
  // Paths are matched without surrounding slashes: /wf/w/orders/ = orders.
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  std::shared_ptr<IngressActor> ingress;
  {
    std::shared_lock lock(table_mu_);
    auto it = ingress_.find(std::make_pair(std::string(workflow), std::string(path)));
    if (it != ingress_.end()) ingress = it->second;
  }
  if (ingress == nullptr) {
    done(IngressError(404, "not_found",
                      "no http-ingress for /wf/" + std::string(workflow) + "/" + std::string(path) +
                          " on this node"));
  }
  return ingress;
}

void HostImpl::Ingress(std::string_view workflow, std::string_view path, std::string_view method,
                       std::string_view idempotency_key, const IngressHttp* http, std::string body,
                       std::function<void(IngressReply)> done) {
  if (std::shared_ptr<IngressActor> ingress = FindIngress(workflow, path, done)) {
    ingress->Request(method, idempotency_key, http, std::move(body), std::move(done));
  }
}

void HostImpl::Portal(std::string_view workflow, std::string_view path, std::string_view method,
                      PortalRequest portal, std::string body,
                      std::function<void(IngressReply)> done) {
  if (std::shared_ptr<IngressActor> ingress = FindIngress(workflow, path, done)) {
    ingress->Portal(method, portal, std::move(body), std::move(done));
  }
}

}  // namespace aether::workflow::internal
