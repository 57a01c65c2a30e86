// http-ingress: /wf/{workflow}/{path} requests turned into an event to the
// ingress's single output (docs/workflow-protocol.md).
#include <algorithm>
#include <optional>
#include <utility>

#include "common/http_server.h"
#include "workflow/internal/event_ids.h"
#include "workflow/internal/host_impl.h"
#include "workflow/internal/resource_actor.h"

namespace aether::workflow::internal {

IngressReply IngressError(int status, std::string_view code, std::string_view message) {
  // A 503 (full, not running yet) is worth retrying soon.
  return IngressReply{status, "application/json", JsonError(status, code, message).body,
                      status == 503 ? 1 : 0};
}

namespace {

// Idempotency-Key: 1 to kMaxIdempotencyKey visible ASCII characters.
constexpr size_t kMaxIdempotencyKey = 255;

IngressReply ErrorFor(const Status& st) {
  switch (st.code()) {
    case Code::kDeadlineExceeded:
      return IngressError(504, "timeout", st.message());
    case Code::kInternal:
      return IngressError(502, "target_failed", st.message());
    case Code::kResourceExhausted:
      return IngressError(503, "full", st.message());
    default:
      return IngressError(503, "unavailable", st.message());
  }
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

Actor::Outcome IngressActor::Handle(Event& /*e*/, std::string* /*reply*/, Failure* failure) {
  failure->message = "an http-ingress takes no events";
  return Outcome::kFailed;
}

void IngressActor::StopInstance(bool /*graceful*/) {
  std::lock_guard lock(config_mu_);
  config_.reset();
}

std::shared_ptr<const HttpIngressConfig> IngressActor::config() const {
  std::lock_guard lock(config_mu_);
  return config_;
}

void IngressActor::Request(std::string_view method, std::string_view idempotency_key,
                           std::string body, std::function<void(IngressReply)> done) {
  std::shared_ptr<const HttpIngressConfig> config = this->config();
  if (config == nullptr) {
    done(IngressError(
        503, "unavailable",
        "the ingress " + id() + " is not running (" + std::string(StateName(state())) + ")"));
    return;
  }
  if (std::find(config->methods.begin(), config->methods.end(), method) == config->methods.end()) {
    std::string allowed;
    for (const std::string& m : config->methods) allowed += (allowed.empty() ? "" : ", ") + m;
    done(IngressError(405, "method_not_allowed",
                      "method " + std::string(method) + " not allowed (allowed: " + allowed + ")"));
    return;
  }
  std::shared_ptr<const Wiring> w = wiring();
  if (w == nullptr || w->empty()) {
    done(IngressError(503, "unavailable", "the ingress " + id() + " has no output mapped"));
    return;
  }
  const std::string& output = w->begin()->first;
  if (body.size() > kMaxPayload) {
    done(IngressError(413, "too_large", "the body is over 1 MiB"));
    return;
  }
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
        [self, reply, output, body = std::move(body), event_id = std::move(event_id)]() mutable {
          Status st = self->core_.AppendFrom(
              *self, output, body,
              std::chrono::steady_clock::now() + self->core_.options().log_append_timeout,
              std::move(event_id), /*at_edge=*/true);
          (*reply)(st.ok() ? IngressReply{202, "application/json", "{\"accepted\":true}"}
                           : ErrorFor(st));
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
    done(IngressReply{202, "application/json", "{\"accepted\":true}"});
    return;
  }
  core_.CallFrom(*this, output, body, config->timeout,
                 [done = std::move(done), type = config->content_type](Result<std::string> r) {
                   if (!r.ok()) {
                     done(ErrorFor(r.status()));
                     return;
                   }
                   done(IngressReply{200, type, std::move(*r)});
                 });
}

void HostImpl::Ingress(std::string_view workflow, std::string_view path, std::string_view method,
                       std::string_view idempotency_key, std::string body,
                       std::function<void(IngressReply)> done) {
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
    return;
  }
  ingress->Request(method, idempotency_key, std::move(body), std::move(done));
}

}  // namespace aether::workflow::internal
