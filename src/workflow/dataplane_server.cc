// The receiving side of the dataplane: the routes Dataplane::Register adds.
// Every handler runs on an HTTP IO thread and returns without waiting:
// casts go into mailboxes (host.Cast never blocks), calls and ingress
// requests answer from their reply callbacks.
#include <fmt/format.h>

#include <boost/json.hpp>
#include <charconv>

#include "common/json_util.h"
#include "common/log.h"
#include "common/node_credential.h"
#include "workflow/dataplane.h"
#include "workflow/dataplane_answer.h"
#include "workflow/dataplane_codec.h"
#include "workflow/dataplane_impl.h"
#include "workflow/portal_codec.h"

namespace aether::workflow {
namespace {

constexpr std::string_view kIngressPrefix = "/wf/";
// X-Aether-Timeout-Ms above this is refused (a day, as delayed_cast's bound).
constexpr int64_t kMaxTimeoutMs = 24 * 3600 * 1000;
// Peers whose tokens are kept (a node has one per node it sends to).
constexpr size_t kMaxCachedPairTokens = 4096;

HttpResponse CallError(const Status& st) {
  switch (st.code()) {
    case Code::kNotFound:
      return JsonError(404, "not_found", st.message());
    case Code::kResourceExhausted:
      return JsonError(503, "full", st.message());
    case Code::kDeadlineExceeded:
      return JsonError(504, "timeout", st.message());
    case Code::kUnavailable:
      return JsonError(502, "unavailable", st.message());
    case Code::kInvalidArgument:
      return JsonError(400, "invalid_argument", st.message());
    default:
      return JsonError(502, "failed", st.message());
  }
}

// A prefix of untrusted bytes for an error message.
std::string Excerpt(std::string_view s) {
  return SanitizeUtf8(s.size() > 64 ? s.substr(0, 64) : s);
}

}  // namespace

// Each frame into its instance's mailbox, in order, never waiting (on the
// IO thread). A full mailbox defers its frame and every later one for the
// same instance, so per-instance order holds: the answer lists the deferred
// indexes and the sender sends those again after a pause (the dataplane's
// flow control: nothing the sender queued is lost to a full mailbox).
// Instances the sender's outputs do not reach, or that do not run here,
// are dropped, as for an unknown one (a stale sender is not told more).
std::string Dataplane::Impl::DeliverFrames(WorkflowHost& h,
                                           const std::set<std::string, std::less<>>& allowed,
                                           const std::vector<Frame>& frames) {
  int64_t accepted = 0, dropped = 0;
  std::vector<size_t> deferred;
  std::set<std::string_view> full;
  for (size_t i = 0; i < frames.size(); ++i) {
    const Frame& f = frames[i];
    Status st = !allowed.contains(f.target) ? NotFound("not a target of the sender")
                : full.contains(f.target)   ? ResourceExhausted("full")
                                            : h.Cast(f.target, f.source, f.payload);
    if (st.ok()) {
      ++accepted;
    } else if (st.code() == Code::kResourceExhausted) {
      full.insert(f.target);
      deferred.push_back(i);
    } else {
      ++dropped;
    }
  }
  received.fetch_add(static_cast<uint64_t>(accepted), std::memory_order_relaxed);
  received_dropped.fetch_add(static_cast<uint64_t>(dropped), std::memory_order_relaxed);
  received_deferred.fetch_add(frames.size() - static_cast<uint64_t>(accepted + dropped),
                              std::memory_order_relaxed);
  return FormatBatchAnswer(static_cast<uint64_t>(accepted), static_cast<uint64_t>(dropped),
                           deferred);
}

Result<Dataplane::Impl::Sender> Dataplane::Impl::Authenticate(const HttpRequest& req) const {
  constexpr std::string_view kBearer = "Bearer ";
  std::string_view auth = req.Header("Authorization");
  std::string_view node = req.Header("X-Aether-Node");
  if (!auth.starts_with(kBearer) || node.empty()) {
    return Unauthenticated(
        "a dataplane request names its sending node (X-Aether-Node) and carries that node's "
        "token for this one (Authorization: Bearer ...)");
  }
  std::string_view token = auth.substr(kBearer.size());
  Sender s;
  {
    std::lock_guard lock(peers_table_mu);
    s.table = peer_table;
  }
  auto it = s.table->find(node);
  // The digest is compared for an unknown sender too (against nothing that
  // can match), so the time does not tell peers from strangers.
  bool match =
      MatchesDigest(token, it == s.table->end() ? std::string_view() : it->second.token_sha256);
  std::string who = SanitizeUtf8(node.substr(0, 128));
  if (it == s.table->end()) {
    return PermissionDenied("node " + who + " may not send to this node (no workflow output of " +
                            who + " reaches an instance here)");
  }
  if (!match) return PermissionDenied("invalid dataplane token for node " + who);
  s.grant = &it->second;
  return s;
}

HttpHeaders Dataplane::Impl::Credentials(const std::string& receiver) const {
  if (options.identity == nullptr) return {};
  std::string key = options.identity->dataplane_key();
  std::string bearer = "Bearer ";
  if (!key.empty()) {
    std::lock_guard lock(pair_tokens.mu);
    if (pair_tokens.key != key) {  // both ours: the comparison's time tells nobody anything
      pair_tokens.key = key;
      pair_tokens.bearer.clear();
    }
    auto it = pair_tokens.bearer.find(receiver);
    if (it == pair_tokens.bearer.end()) {
      if (pair_tokens.bearer.size() >= kMaxCachedPairTokens) pair_tokens.bearer.clear();
      it = pair_tokens.bearer.emplace(receiver, bearer + PairToken(key, receiver)).first;
    }
    bearer = it->second;
  }
  return {{"X-Aether-Node", options.identity->node_id()}, {"Authorization", std::move(bearer)}};
}

void Dataplane::SetPeers(std::vector<PeerGrant> peers) {
  auto table = std::make_shared<Impl::PeerTable>();
  std::set<std::string, std::less<>> ids;
  for (PeerGrant& p : peers) {
    ids.insert(p.node_id);
    std::string id = p.node_id;
    table->emplace(std::move(id), std::move(p));
  }
  // A node that is no longer a peer cannot send: its window goes (the
  // windows are bounded by the peers, each by its own bounds).
  impl_->windows.Retain(ids);
  std::lock_guard lock(impl_->peers_table_mu);
  impl_->peer_table = std::move(table);
}

void Dataplane::Register(HttpServer& server, WorkflowHost& host) {
  Impl* d = impl_.get();
  WorkflowHost* h = &host;
  d->host.store(h);
  // On the header: a peer without its token is refused before its body (up
  // to max_body) is read. The handlers authenticate again for the sender.
  HeaderCheck authorized = [d](const HttpRequest& req) -> std::optional<HttpResponse> {
    Result<Impl::Sender> sender = d->Authenticate(req);
    if (sender.ok()) return std::nullopt;
    return JsonError(sender.status());
  };

  server.Route(
      "POST", kEventsPath,
      GuardedHandler{
          authorized, [d, h](HttpRequest&& req, Responder respond) {
            Result<Impl::Sender> sender = d->Authenticate(req);
            if (!sender.ok()) return respond(JsonError(sender.status()));
            std::string_view batch = req.Header(kBatchHeader);
            if (req.HasHeader(kBatchHeader) && !ValidBatchId(batch)) {
              return respond(
                  JsonError(400, "invalid_batch_id",
                            fmt::format("{} must be 1-{} characters of [0-9A-Za-z._-]: {}",
                                        kBatchHeader, kMaxBatchIdLength, Excerpt(batch))));
            }
            Result<std::vector<Frame>> frames = DecodeFrames(req.body);
            if (!frames.ok()) {
              if (frames.status().code() == Code::kResourceExhausted) {
                return respond(JsonError(413, "payload_too_large", frames.status().message()));
              }
              return respond(JsonError(400, "invalid_frames", frames.status().message()));
            }
            auto deliver = [&] { return d->DeliverFrames(*h, sender->grant->instances, *frames); };
            std::string answer;
            if (batch.empty()) {
              // A sender from before batch ids: delivered, as it always was.
              answer = deliver();
            } else {
              bool duplicate = false;
              answer = d->windows.Once(sender->grant->node_id, batch, deliver, &duplicate);
              if (duplicate) d->received_duplicates.fetch_add(1, std::memory_order_relaxed);
            }
            respond(HttpResponse{200, "application/json", std::move(answer), {}});
          }});

  server.Route(
      "POST", kCallPath,
      GuardedHandler{
          authorized, [d, h](HttpRequest&& req, Responder respond) {
            Result<Impl::Sender> sender = d->Authenticate(req);
            if (!sender.ok()) return respond(JsonError(sender.status()));
            if (req.body.size() > kMaxBatchBytes) {
              return respond(
                  JsonError(413, "payload_too_large", "a call is one frame of at most 1 MiB"));
            }
            int64_t timeout_ms = 0;
            std::string_view t = req.Header(kTimeoutHeader);
            if (!t.empty()) {
              auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), timeout_ms);
              if (ec != std::errc() || end != t.data() + t.size() || timeout_ms < 0 ||
                  timeout_ms > kMaxTimeoutMs) {
                return respond(JsonError(400, "invalid_argument",
                                         "X-Aether-Timeout-Ms must be milliseconds, 0.." +
                                             std::to_string(kMaxTimeoutMs) + ": " + Excerpt(t)));
              }
            }
            Result<Frame> f = DecodeOneFrame(req.body);
            if (!f.ok()) return respond(JsonError(400, "invalid_frames", f.status().message()));
            if (!sender->grant->instances.contains(f->target)) {
              return respond(JsonError(403, "permission_denied",
                                       "node " + sender->grant->node_id + " may not call " +
                                           Excerpt(f->target) +
                                           " (no output of it reaches that instance)"));
            }
            d->calls_received.fetch_add(1, std::memory_order_relaxed);
            // The frame's views point into req.body, which lives until Call returns
            // (the host copies what it keeps).
            h->Call(
                f->target, f->source, f->payload, std::chrono::milliseconds(timeout_ms),
                [respond = std::move(respond)](Result<CallReply> reply) {
                  if (!reply.ok()) return respond(CallError(reply.status()));
                  HttpResponse out{200, "application/octet-stream", std::move(reply->bytes), {}};
                  if (reply->none) out.headers.emplace_back(kReplyHeader, "none");
                  respond(std::move(out));
                });
          }});

  // http-ingress: any method; the host answers 405 for one its ingress does
  // not allow. HEAD is the router's GET fallback. A request with
  // X-Aether-Portal (whatever its value) comes from a portal of another
  // domain: the host's Portal, which checks its headers.
  auto ingress = [h](HttpRequest&& req, Responder respond) {
    std::string_view rest = std::string_view(req.path).substr(kIngressPrefix.size());
    size_t slash = rest.find('/');
    std::string_view workflow = rest.substr(0, slash);
    std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
    while (!path.empty() && path.back() == '/') path.remove_suffix(1);
    if (workflow.empty()) {
      return respond(JsonError(404, "not_found", "no workflow in the path: /wf/{workflow}/{path}"));
    }
    auto reply = [respond = std::move(respond)](IngressReply r) {
      HttpResponse out;
      out.status = r.status;
      out.content_type = std::move(r.content_type);
      out.body = std::move(r.body);
      out.headers = std::move(r.headers);
      if (r.retry_after_s > 0) {
        out.headers.emplace_back("Retry-After", std::to_string(r.retry_after_s));
      }
      respond(std::move(out));
    };
    if (req.HasHeader(kPortalHeader)) {
      PortalRequest portal{std::string(req.Header(kPortalHeader)),
                           std::string(req.Header(kPortalTokenHeader)),
                           std::string(req.Header(kPortalTimeoutHeader))};
      h->Portal(workflow, path, req.method, std::move(portal), std::move(req.body),
                std::move(reply));
      return;
    }
    // Views into `req`, which outlives the call (an EDGELESS-format ingress
    // encodes them before it returns).
    IngressHttp http;
    http.host =
        req.HasHeader("X-Forwarded-Host") ? req.Header("X-Forwarded-Host") : req.Header("Host");
    if (size_t q = req.target.find('?'); q != std::string::npos) {
      http.query = std::string_view(req.target).substr(q + 1);
    }
    http.headers = &req.headers;
    h->Ingress(workflow, path, req.method, req.Header("Idempotency-Key"), &http,
               std::move(req.body), std::move(reply));
  };
  for (std::string_view method : {"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}) {
    server.RoutePrefix(method, kIngressPrefix, ingress);
  }
}

}  // namespace aether::workflow
