// Events (/callback, /api/events), the gateway (/api/invoke/{name}),
// /health and /metrics.
#include <algorithm>
#include <boost/json.hpp>

#include "common/json_util.h"
#include "control/api.h"
#include "protocol/event.h"
#include "protocol/names.h"

namespace aether::control {
namespace {

namespace json = boost::json;

constexpr std::string_view kInvokePath = "/api/invoke/";
constexpr int64_t kDefaultEventLimit = 100;
constexpr int64_t kMaxEventLimit = 1000;

Result<int64_t> QueryNumber(const HttpRequest& req, const std::string& key, int64_t fallback) {
  ASSIGN_OR_RETURN(std::optional<int64_t> v, req.QueryInt(key));
  return v.value_or(fallback);
}

}  // namespace

HttpResponse ControlApi::Callback(const HttpRequest& req, const Caller& caller) {
  Result<json::object> body = ParseJsonObject(req.body);
  if (!body.ok()) return JsonError(400, "invalid_request", body.status().message());
  Result<protocol::EventPost> post = protocol::EventPostFromJson(*body, kMaxEventData);
  if (!post.ok()) {
    bool too_large = post.status().code() == Code::kResourceExhausted;
    return JsonError(too_large ? 413 : 400, too_large ? "payload_too_large" : "invalid_argument",
                     post.status().message());
  }
  // The node whose credential was checked, never a name the request
  // claims; the admin token's events are the API's.
  std::string source =
      caller.kind == Caller::Kind::kNode ? caller.node_id : std::string(kApiSource);
  Result<int64_t> id =
      ctx_.events.Append(std::move(post->type), std::move(source), std::move(post->data));
  if (!id.ok()) return JsonError(id.status());
  HttpResponse r = JsonOk(json::object{{"status", "recorded"}, {"id", *id}});
  r.status = 201;
  return r;
}

void ControlApi::ListEvents(const HttpRequest& req, const Responder& respond) {
  Result<int64_t> since = QueryNumber(req, "since", 0);
  if (!since.ok()) return respond(JsonError(400, "invalid_argument", since.status().message()));
  Result<int64_t> limit = QueryNumber(req, "limit", kDefaultEventLimit);
  if (!limit.ok()) return respond(JsonError(400, "invalid_argument", limit.status().message()));
  Result<std::chrono::milliseconds> wait = LongPollWait(req, kMaxEventWait);
  if (!wait.ok()) return respond(JsonError(400, "invalid_argument", wait.status().message()));
  EventQuery q;
  q.since = *since;
  q.limit = std::clamp<int64_t>(*limit, 1, kMaxEventLimit);
  if (auto it = req.query.find("type"); it != req.query.end() && !it->second.empty()) {
    if (Status st = protocol::ValidateEventType(it->second); !st.ok())
      return respond(JsonError(400, "invalid_argument", st.message()));
    q.type = it->second;
  }
  // The first look reads the store, so it runs on a worker; parking then
  // costs no thread.
  OnWorkers(
      [this, q = std::move(q), wait = *wait, respond]() {
        if (wait.count() == 0) return respond(ctx_.event_watch.Page(q));
        ctx_.event_watch.Wait(q, wait, respond);
      },
      respond);
}

std::pair<int, json::object> ControlApi::HealthReport() {
  Result<std::shared_ptr<const Manifest>> m = ctx_.functions.GetManifest();
  Result<int64_t> rev = ctx_.store.Revision();
  const Leadership& lead = ctx_.leadership;
  std::string role = lead.IsLeader() ? "leader" : "follower";
  ArtifactReplicator::Holdings held = ctx_.replicator.holdings();
  json::object artifacts{{"held", held.held}, {"missing", held.missing}};
  if (!m.ok() || !rev.ok()) {
    Status st = !m.ok() ? m.status() : rev.status();
    // The error body, and who answers: an operator looks at /health when
    // etcd is down.
    return {503,
            json::object{{"error", "store unavailable: " + st.message()},
                         {"code", "unavailable"},
                         {"role", role},
                         {"replica_id", lead.replica_id()},
                         {"store", json::object{{"backend", lead.backend()}, {"reachable", false}}},
                         {"artifacts", std::move(artifacts)}}};
  }
  NodeRegistry::Counts c = ctx_.nodes.Count();
  return {200, json::object{{"status", "ok"},
                            {"version", kControlVersion},
                            {"functions", (*m)->functions.size()},
                            {"nodes", json::object{{"up", c.up}, {"down", c.down}}},
                            {"revision", *rev},
                            {"role", role},
                            {"replica_id", lead.replica_id()},
                            {"store", json::object{{"backend", lead.backend()},
                                                   {"reachable", true},
                                                   {"revision", *rev}}},
                            {"artifacts", std::move(artifacts)}}};
}

HttpResponse ControlApi::Health() {
  auto [status, body] = HealthReport();
  HttpResponse r = JsonOk(body);
  r.status = status;
  return r;
}

void ControlApi::CollectMetrics(Scrape& scrape) {
  NodeRegistry::Counts c = ctx_.nodes.Count();
  scrape.Add(ctx_.metrics.nodes, {{"state", "down"}}, static_cast<double>(c.down));
  scrape.Add(ctx_.metrics.nodes, {{"state", "up"}}, static_cast<double>(c.up));
  // A store that cannot be read leaves its series out of this scrape.
  if (auto m = ctx_.functions.GetManifest(); m.ok()) {
    scrape.Add(ctx_.metrics.functions, static_cast<double>((*m)->functions.size()));
  }
  if (auto rev = ctx_.store.Revision(); rev.ok()) {
    scrape.Add(ctx_.metrics.revision, static_cast<double>(*rev));
  }
  scrape.Add(ctx_.metrics.leader, ctx_.leadership.IsLeader() ? 1.0 : 0.0);
}

HttpResponse ControlApi::Metrics() {
  HttpResponse r;
  r.content_type = std::string(kPrometheusContentType);
  r.body = ctx_.registry.Render();
  return r;
}

void ControlApi::RegisterOps(HttpServer& server) {
  server.Route("POST", "/callback",
               BlockingAs("POST /callback", Access::kNodeOrAdmin,
                          [this](const HttpRequest& req, const Caller& caller) {
                            return Callback(req, caller);
                          }));
  server.Route(
      "GET", "/api/events",
      Inline("GET /api/events", Access::kAdmin,
             [this](HttpRequest&& req, const Responder& respond) { ListEvents(req, respond); }));
  server.Route("GET", "/health", Blocking("GET /health", Access::kOpen, [this](const HttpRequest&) {
                 return Health();
               }));
  server.Route(
      "GET", "/metrics",
      Blocking("GET /metrics", Access::kOpen, [this](const HttpRequest&) { return Metrics(); }));
  server.RoutePrefix("POST", kInvokePath,
                     Inline("POST /api/invoke/{name}", Access::kAdmin,
                            [this](HttpRequest&& req, Responder respond) {
                              std::string name = req.path.substr(kInvokePath.size());
                              if (Status st = protocol::ValidateFunctionName(name); !st.ok()) {
                                return respond(JsonError(400, "invalid_name", st.message()));
                              }
                              // On this IO thread: the forward runs here.
                              ctx_.gateway.Invoke(std::move(name), req.body, std::move(respond),
                                                  req.io_context);
                            }));
}

}  // namespace aether::control
