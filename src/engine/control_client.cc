#include "engine/control_client.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <optional>

#include "common/backoff.h"
#include "common/json_util.h"
#include "common/log.h"

namespace aether::engine {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;

// How often the manifest thread, before the node has joined, checks for a
// stop.
constexpr milliseconds kJoinPoll{100};
// The goodbye at a graceful stop: a stop must not wait on a control plane
// that is away.
constexpr milliseconds kLeaveTimeout{1500};
// A control plane without GET /node/prefetch is asked again after this (it
// may have been upgraded meanwhile).
constexpr milliseconds kPrefetchUnsupportedRetry{60000};

// `refused`: what a 401/403 means for the token this call carried.
Status StatusOf(const HttpResponse& r, std::string_view refused = {}) {
  std::string msg = DescribeHttpError(r);
  switch (r.status) {
    case 401:
    case 403:
      return PermissionDenied(msg + std::string(refused));
    case 404:
      return NotFound(msg);
    case 503:
      return Unavailable(msg);
    default:
      return r.status >= 500 ? Unavailable(msg) : Internal(msg);
  }
}

bool Unreachable(const Status& st) {
  return st.code() == Code::kUnavailable || st.code() == Code::kDeadlineExceeded;
}

}  // namespace

std::string DefaultNodeId(const std::string& configured) {
  if (!configured.empty()) return configured;
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') return "aether-engine";
  return host;
}

ControlClient::ControlClient(ControlClientOptions options, ControlClientHooks hooks)
    : options_(std::move(options)),
      hooks_(std::move(hooks)),
      // A few connections: the two threads', an artifact fetch, an event.
      own_http_(options_.http != nullptr ? nullptr : NewHttpClient({.max_idle_per_host = 4})),
      http_(options_.http != nullptr ? *options_.http : *own_http_),
      interval_(options_.heartbeat_interval) {}

ControlClient::~ControlClient() { Stop(); }

void ControlClient::Start(std::string self_url) {
  self_url_ = std::move(self_url);
  LOG_INFO("joining the control plane at {} as node {} ({})", options_.endpoints->Joined(),
           node_id(), self_url_);
  beat_thread_ = std::thread([this] { BeatLoop(); });
  manifest_thread_ = std::thread([this] { ManifestLoop(); });
  if (hooks_.prefetch) prefetch_thread_ = std::thread([this] { PrefetchLoop(); });
}

void ControlClient::Stop() {
  bool started = beat_thread_.joinable();
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  stop_.request_stop();
  if (beat_thread_.joinable()) beat_thread_.join();
  if (manifest_thread_.joinable()) manifest_thread_.join();
  if (prefetch_thread_.joinable()) prefetch_thread_.join();
  if (started) Leave();
}

void ControlClient::Leave() noexcept {
  // Best effort, and reached from the destructor: nothing may escape it.
  try {
    std::string secret = options_.identity->secret();
    if (secret.empty()) return;  // never joined
    // Bounded and not cancelled by stop_: it is the last thing said. Without
    // it the node would stay "up" (and be routed to) until node_timeout.
    Result<HttpResponse> r = options_.endpoints->Send(
        http_, {.method = "POST",
                .url = "/node/leave",
                .body = "{}",
                .headers = {{"Authorization", "Bearer " + secret}, {"X-Aether-Node", node_id()}},
                .timeout = kLeaveTimeout});
    if (r.ok() && r->status == 200) {
      LOG_INFO("node {} left the control plane", node_id());
    } else {
      LOG_INFO(
          "could not tell the control plane that node {} leaves ({}); it marks it down after "
          "its node_timeout",
          node_id(), r.ok() ? "HTTP " + std::to_string(r->status) : r.status().message());
    }
  } catch (...) {
  }
}

void ControlClient::BeatSoon() {
  {
    std::lock_guard lock(mu_);
    beat_soon_ = true;
  }
  cv_.notify_all();
}

bool ControlClient::registered() const {
  std::lock_guard lock(mu_);
  return registered_;
}

bool ControlClient::Sleep(milliseconds d, bool beat) {
  std::unique_lock lock(mu_);
  options_.clock->WaitFor(lock, cv_, d, [&] { return stopping_ || (beat && beat_soon_); });
  return stopping_;
}

Result<HttpResponse> ControlClient::Call(std::string_view method, const std::string& path,
                                         std::string_view body, milliseconds timeout, Auth auth,
                                         EndpointSendOptions send) {
  std::string token;
  if (auth == Auth::kJoin) {
    token = options_.join_token;
  } else {
    ASSIGN_OR_RETURN(token, Secret());
  }
  return options_.endpoints->Send(
      http_,
      {.method = std::string(method),
       .url = path,
       .body = body,
       .headers = {{"Authorization", "Bearer " + token}, {"X-Aether-Node", node_id()}},
       .timeout = timeout,
       .cancel = stop_.get_token()},
      send);
}

Result<std::string> ControlClient::Secret() {
  std::string secret = options_.identity->WaitForSecret(options_.call_timeout);
  if (secret.empty())
    return Unavailable("node " + node_id() + " has not joined the control plane yet");
  return secret;
}

void ControlClient::SetLink(Link* current, Link next, std::string_view what, const Status& why) {
  if (*current == next) return;
  *current = next;
  switch (next) {
    case Link::kUp:
      LOG_INFO("control plane {}: {} ok", url(), what);
      break;
    case Link::kUnreachable:
      LOG_WARN("control plane {} unreachable ({}: {}); serving what this engine has, retrying",
               options_.endpoints->Joined(), what, why.message());
      break;
    case Link::kRejected:
      LOG_ERROR("control plane {} refused {}: {}; retrying", url(), what, why.message());
      break;
    case Link::kStarting:
      break;
  }
}

Status ControlClient::Register() {
  std::string text =
      protocol::EncodeRegistration({node_id(), self_url_, options_.labels, options_.capacity_json});
  if (options_.identity->secret().empty()) return Join(text);
  ASSIGN_OR_RETURN(HttpResponse r, Call("POST", "/register", text, options_.call_timeout));
  if (r.status == 404) {
    // Not a refusal: the control plane has no record of this node (a new or
    // restored store). Join it anew. The old credential is kept until a
    // new one is issued: when another replica still knows the node, the
    // join is refused (node_exists) and the next round registers with it.
    LOG_WARN(
        "the control plane {} does not know node {} (was its store replaced?); joining "
        "again as a new node",
        url(), node_id());
    return Join(text);
  }
  if (r.status != 200) return StatusOf(r, CredentialRefused());
  ApplyRegisterReply(r);
  return OkStatus();
}

std::string ControlClient::CredentialRefused() const {
  const std::string& path = options_.identity->path();
  std::string file = path.empty() ? "its credential" : path;
  return fmt::format(
      "; node {}'s credential is refused, and this engine does not fall back to the join token. "
      "To join again as a new node: `aether nodes rm {}` if it is still listed, delete {}, "
      "restart the engine",
      node_id(), node_id(), file);
}

Status ControlClient::Join(const std::string& body) {
  // Sent again elsewhere only when no replica saw it: one that did may
  // have admitted the node, and a second join would be refused
  // (node_exists).
  ASSIGN_OR_RETURN(HttpResponse r, Call("POST", "/register", body, options_.call_timeout,
                                        Auth::kJoin, {.retry = Retry::kIfNotSent}));
  if (r.status != 200) {
    // node_exists explains itself (aether nodes rm); any other refusal is
    // the join token's.
    bool exists = r.body.find("\"node_exists\"") != std::string::npos;
    return StatusOf(r, exists ? "" : " (check [auth] join_token)");
  }
  Result<protocol::RegisterReply> reply = protocol::ParseRegisterReply(r.body);
  if (!reply.ok() || reply->credential.empty()) {
    return Internal("the control plane " + url() + " admitted node " + node_id() +
                    " without issuing it a credential (is it older than this engine?)");
  }
  if (Status st = options_.identity->Set(std::move(reply->credential)); !st.ok()) {
    LOG_ERROR(
        "node {} joined, but its credential cannot be saved ({}); it works until this "
        "engine stops, after which the node must be removed (aether nodes rm {}) to join "
        "again",
        node_id(), st.message(), node_id());
  } else {
    LOG_INFO("node {} joined the control plane {} as a new node; its credential is in {}",
             node_id(), url(), options_.identity->path());
  }
  ApplyRegisterReply(r);
  return OkStatus();
}

void ControlClient::ApplyRegisterReply(const HttpResponse& r) {
  Result<protocol::RegisterReply> reply = protocol::ParseRegisterReply(r.body);
  if (reply.ok() && reply->heartbeat_interval_ms > 0) {
    std::lock_guard lock(mu_);
    interval_ = milliseconds(reply->heartbeat_interval_ms);
  }
}

Status ControlClient::Heartbeat() {
  protocol::Heartbeat beat = hooks_.status ? hooks_.status() : protocol::Heartbeat{};
  beat.node_id = node_id();
  ASSIGN_OR_RETURN(HttpResponse r, Call("POST", "/node/heartbeat", protocol::EncodeHeartbeat(beat),
                                        options_.call_timeout));
  if (r.status != 200) return StatusOf(r, CredentialRefused());
  return OkStatus();
}

void ControlClient::BeatLoop() {
  Backoff backoff(options_.backoff_initial, options_.backoff_max);
  Link link = Link::kStarting;
  bool registered = false;
  auto set_registered = [&](bool v) {
    registered = v;
    std::lock_guard lock(mu_);
    registered_ = v;
  };
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      beat_soon_ = false;
    }
    if (!registered) {
      Status st = Register();
      if (stop_.stop_requested()) return;  // cancelled: not worth a log line
      if (!st.ok()) {
        SetLink(&link, Unreachable(st) ? Link::kUnreachable : Link::kRejected, "register", st);
        if (Sleep(backoff.Next(), false)) return;
        continue;
      }
      set_registered(true);
      backoff.Reset();
      LOG_INFO("registered with the control plane {} as node {}", url(), node_id());
    }
    Status st = Heartbeat();
    if (stop_.stop_requested()) return;
    milliseconds wait;
    {
      std::lock_guard lock(mu_);
      wait = interval_;
    }
    if (st.code() == Code::kNotFound) {
      LOG_INFO("the control plane does not know node {}; registering again", node_id());
      set_registered(false);
      continue;
    }
    if (!st.ok()) {
      SetLink(&link, Unreachable(st) ? Link::kUnreachable : Link::kRejected, "heartbeat", st);
      // Register again once it answers: it may have lost or replaced its
      // store, and a fresh registration is cheap.
      if (Unreachable(st)) set_registered(false);
      if (Sleep(std::min(wait, backoff.Next()), false)) return;
      continue;
    }
    SetLink(&link, Link::kUp, "heartbeat", OkStatus());
    backoff.Reset();
    if (Sleep(wait, true)) return;
  }
}

bool ControlClient::WaitUntilJoined() {
  // Before the beat thread has registered the node there is nothing to ask
  // with.
  while (options_.identity->WaitForSecret(kJoinPoll).empty()) {
    std::lock_guard lock(mu_);
    if (stopping_) return false;
  }
  return true;
}

Result<HttpResponse> ControlClient::LongPoll(const std::string& route,
                                             std::optional<int64_t> since) {
  std::string path = route;
  if (since) {
    path += "?since=" + std::to_string(*since) +
            "&wait=" + std::to_string(options_.manifest_wait.count());
  }
  return Call(
      "GET", path, {},
      std::chrono::duration_cast<milliseconds>(options_.manifest_wait) + options_.call_timeout);
}

void ControlClient::ManifestLoop() {
  Backoff backoff(options_.backoff_initial, options_.backoff_max);
  Link link = Link::kStarting;
  std::optional<int64_t> since;
  if (!WaitUntilJoined()) return;
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    Result<HttpResponse> r = LongPoll("/node/manifest", since);
    if (stop_.stop_requested()) return;
    Status st = !r.ok() ? r.status() : r->status != 200 ? StatusOf(*r) : OkStatus();
    Result<protocol::Manifest> m =
        st.ok() ? protocol::ParseManifest(r->body) : Result<protocol::Manifest>(st);
    if (!m.ok()) {
      st = m.status();
      SetLink(&link, Unreachable(st) ? Link::kUnreachable : Link::kRejected, "manifest", st);
      since.reset();  // start over with a full answer
      if (Sleep(backoff.Next(), false)) return;
      continue;
    }
    SetLink(&link, Link::kUp, "manifest", OkStatus());
    backoff.Reset();
    since = m->revision;
    if (hooks_.manifest) hooks_.manifest(*m, r->body);
  }
}

void ControlClient::PrefetchLoop() {
  // Hints are advice (the manifest still brings every module): failures
  // are retried quietly; the manifest thread reports the link's state.
  Backoff backoff(options_.backoff_initial, options_.backoff_max);
  std::optional<int64_t> since;
  bool told_unsupported = false;
  if (!WaitUntilJoined()) return;
  for (;;) {
    Result<HttpResponse> r = LongPoll("/node/prefetch", since);
    if (stop_.stop_requested()) return;
    if (r.ok() && r->status == 404 && r->body.find("no route for") != std::string::npos) {
      // A control plane from before hints: its manifests still come.
      if (!told_unsupported) {
        LOG_INFO(
            "the control plane sends no prefetch hints (GET /node/prefetch: 404); new "
            "modules compile when their manifest arrives");
        told_unsupported = true;
      }
      since.reset();
      if (Sleep(kPrefetchUnsupportedRetry, false)) return;
      continue;
    }
    Status st = !r.ok() ? r.status() : r->status != 200 ? StatusOf(*r) : OkStatus();
    Result<protocol::ModuleHints> hints =
        st.ok() ? protocol::ParseModuleHints(r->body) : Result<protocol::ModuleHints>(st);
    if (!hints.ok()) {
      LOG_DEBUG("prefetch hints: {}", hints.status().message());
      since.reset();
      if (Sleep(backoff.Next(), false)) return;
      continue;
    }
    backoff.Reset();
    since = hints->revision;
    if (!hints->modules.empty()) hooks_.prefetch(hints->modules);
  }
}

Result<std::vector<uint8_t>> ControlClient::FetchArtifact(const std::string& sha256) {
  ASSIGN_OR_RETURN(HttpResponse r,
                   Call("GET", "/node/artifacts/" + sha256, {}, options_.artifact_timeout,
                        Auth::kNode, {.next_on_not_found = true}));
  if (r.status != 200) return StatusOf(r);
  return std::vector<uint8_t>(r.body.begin(), r.body.end());
}

Status ControlClient::PostEvent(std::string_view body) {
  // Call() waits for the first registration (events of a restart come
  // before it).
  ASSIGN_OR_RETURN(HttpResponse r, Call("POST", "/callback", body, options_.call_timeout,
                                        Auth::kNode, {.retry = Retry::kIfNotSent}));
  if (r.status != 201 && r.status != 200) return StatusOf(r);
  return OkStatus();
}

}  // namespace aether::engine
