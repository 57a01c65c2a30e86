// The node protocol (/register, /node/heartbeat, /node/manifest,
// /node/artifacts/{sha256}) and the nodes (GET /api/nodes, DELETE
// /api/nodes/{id}, POST /api/nodes/{id}/cordon|uncordon|drain).
#include <boost/json.hpp>
#include <map>
#include <optional>

#include "common/json_util.h"
#include "common/log.h"
#include "control/api.h"
#include "protocol/ids.h"
#include "protocol/node.h"

namespace aether::control {
namespace {

namespace json = boost::json;

constexpr std::string_view kArtifactsPath = "/node/artifacts/";
constexpr std::string_view kNodesPath = "/api/nodes/";

// The node as GET /api/nodes lists it; `placed`: workflow instances per
// node (null when the store could not say).
json::object NodeJson(const NodeStatus& n,
                      const std::optional<std::map<std::string, int64_t>>& placed) {
  json::value instances(nullptr);
  if (placed) {
    auto it = placed->find(n.reg.node_id);
    instances = it == placed->end() ? int64_t{0} : it->second;
  }
  json::object labels, ready;
  for (const auto& [k, v] : n.reg.labels) labels[k] = v;
  for (const auto& [k, v] : n.ready) ready[k] = v;
  return json::object{{"node_id", n.reg.node_id},
                      {"url", n.reg.url},
                      {"state", n.up ? "up" : "down"},
                      {"scheduling", n.scheduling},
                      {"instances", std::move(instances)},
                      {"labels", std::move(labels)},
                      {"capacity", protocol::CapacityObject(n.reg.capacity)},
                      {"registered_at", n.registered_at},
                      {"last_heartbeat", n.last_heartbeat.empty() ? json::value(nullptr)
                                                                  : json::value(n.last_heartbeat)},
                      {"functions_ready", std::move(ready)},
                      {"cached", n.cached},
                      {"load", json::object{{"inflight", n.load.inflight},
                                            {"queue", n.load.queue},
                                            {"gateway_inflight", n.gateway_inflight}}}};
}

HttpResponse BadRequest(const Status& st) {
  return JsonError(400, "invalid_argument", st.message());
}

// 200 with a body the protocol module encoded.
HttpResponse JsonBody(std::string body) {
  HttpResponse r;
  r.body = std::move(body);
  return r;
}

}  // namespace

HttpResponse ControlApi::RegisterNode(const HttpRequest& req, const Caller& caller) {
  if (ctx_.role == kRoleCluster) {
    return JsonError(409, "wrong_role",
                     "this control plane is a cluster controller ([domain] role = cluster): "
                     "nodes join a domain's control plane, and domains register here");
  }
  Result<json::object> body = ParseJsonObject(req.body);
  if (!body.ok()) return JsonError(400, "invalid_request", body.status().message());
  Result<NodeRegistration> reg = protocol::RegistrationFromJson(*body);
  if (!reg.ok()) return BadRequest(reg.status());
  std::string node_id = reg->node_id;
  if (auto denied = ForeignNode(caller, node_id)) return *denied;
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  protocol::RegisterReply out{
      node_id, duration_cast<milliseconds>(ctx_.config.registry.heartbeat_interval).count(),
      duration_cast<milliseconds>(ctx_.config.registry.node_timeout).count(), ""};
  if (caller.kind == Caller::Kind::kNode) {
    // The node itself, with its credential: a restart or a new url.
    if (Status st = ctx_.nodes.Register(std::move(*reg)); !st.ok()) {
      if (st.code() == Code::kNotFound)
        return JsonError(404, "unknown_node", st.message() + "; register again");
      return JsonError(st);
    }
    return JsonBody(protocol::EncodeRegisterReply(out));
  }
  // The join (or admin) token: a new node only.
  Result<std::string> secret = ctx_.nodes.Admit(std::move(*reg));
  if (!secret.ok()) {
    if (secret.status().code() != Code::kAlreadyExists) return JsonError(secret.status());
    return JsonError(
        403, "node_exists",
        "node " + node_id +
            " is already registered, and only its own credential "
            "registers it again (the join token only admits new nodes). If this is that "
            "node and it lost its data_dir (node.credential), remove the old entry first: "
            "aether nodes rm " +
            node_id);
  }
  out.credential = std::move(*secret);
  HttpResponse r = JsonBody(protocol::EncodeRegisterReply(out));
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

HttpResponse ControlApi::NodeHeartbeat(const HttpRequest& req, const Caller& caller) {
  Result<json::object> body = ParseJsonObject(req.body);
  if (!body.ok()) return JsonError(400, "invalid_request", body.status().message());
  // The node is checked before the rest of the body.
  Result<std::string> id = GetString(*body, "node_id", caller.node_id);
  if (!id.ok()) return BadRequest(id.status());
  if (auto denied = ForeignNode(caller, *id)) return *denied;
  Result<Heartbeat> beat = protocol::HeartbeatFromJson(*body, caller.node_id);
  if (!beat.ok()) return BadRequest(beat.status());
  if (Status st = ctx_.nodes.Beat(std::move(*beat)); !st.ok()) {
    if (st.code() == Code::kNotFound)
      return JsonError(404, "unknown_node", st.message() + "; register again");
    return JsonError(st);
  }
  Result<int64_t> rev = ctx_.functions.Revision();
  json::object out{{"status", "ok"}};
  if (rev.ok()) out["revision"] = *rev;
  return JsonOk(out);
}

std::optional<std::map<std::string, int64_t>> ControlApi::InstancesPerNode() {
  Result<std::shared_ptr<const WorkflowSnapshot>> snap = ctx_.workflows.workflow_store().Snapshot();
  if (!snap.ok()) return std::nullopt;
  return PlacedPerNode(**snap);
}

HttpResponse ControlApi::ListNodes() {
  std::optional<std::map<std::string, int64_t>> placed = InstancesPerNode();
  json::array nodes;
  for (const NodeStatus& n : ctx_.nodes.List()) nodes.push_back(NodeJson(n, placed));
  return JsonOk(json::object{{"nodes", std::move(nodes)}});
}

HttpResponse ControlApi::ScheduleNode(const HttpRequest& req) {
  std::string_view rest = std::string_view(req.path).substr(kNodesPath.size());
  size_t slash = rest.find('/');
  std::string id(rest.substr(0, slash));
  std::string_view action = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
  if (Status st = protocol::ValidateNodeId(id); !st.ok())
    return JsonError(404, "not_found", "no node " + SanitizeUtf8(id.substr(0, 128)));
  std::string_view scheduling = SchedulingOf(action);
  if (scheduling.empty()) {
    return JsonError(404, "not_found",
                     "no route POST /api/nodes/{id}/" +
                         SanitizeUtf8(std::string(action.substr(0, 64))) +
                         " (cordon, uncordon or drain)");
  }
  if (Status st = ctx_.nodes.SetScheduling(id, scheduling, std::string(kApiSource)); !st.ok()) {
    if (st.code() == Code::kNotFound) return JsonError(404, "not_found", st.message());
    return JsonError(st);
  }
  std::optional<std::map<std::string, int64_t>> placed = InstancesPerNode();
  for (const NodeStatus& n : ctx_.nodes.List()) {
    if (n.reg.node_id == id) return JsonOk(NodeJson(n, placed));
  }
  return JsonError(404, "not_found", "no node " + id);
}

HttpResponse ControlApi::RemoveNode(const HttpRequest& req) {
  std::string id = req.path.substr(kNodesPath.size());
  if (Status st = protocol::ValidateNodeId(id); !st.ok())
    return JsonError(404, "not_found", "no node " + SanitizeUtf8(id.substr(0, 128)));
  if (Status st = ctx_.nodes.Remove(id, std::string(kApiSource)); !st.ok()) {
    if (st.code() == Code::kNotFound) return JsonError(404, "not_found", st.message());
    return JsonError(st);
  }
  return JsonOk(json::object{{"removed", id}});
}

void ControlApi::RegisterNodes(HttpServer& server) {
  server.Route("POST", "/register",
               BlockingAs("POST /register", Access::kJoin,
                          [this](const HttpRequest& req, const Caller& caller) {
                            return RegisterNode(req, caller);
                          }));
  server.Route("POST", "/node/heartbeat",
               BlockingAs("POST /node/heartbeat", Access::kNode,
                          [this](const HttpRequest& req, const Caller& caller) {
                            return NodeHeartbeat(req, caller);
                          }));
  server.Route("POST", "/node/leave",
               BlockingAs("POST /node/leave", Access::kNode,
                          [this](const HttpRequest&, const Caller& caller) {
                            if (Status st = ctx_.nodes.Leave(caller.node_id); !st.ok()) {
                              return JsonError(st);
                            }
                            return JsonOk(json::object{{"status", "left"}});
                          }));
  server.RoutePrefix(
      "GET", kArtifactsPath,
      Blocking("GET /node/artifacts/{sha256}", Access::kNodeOrAdmin,
               [this](const HttpRequest& req) { return Artifact(req, kArtifactsPath, true); }));
  server.Route("GET", "/node/manifest",
               Inline("GET /node/manifest", Access::kNodeOrAdmin,
                      [this](HttpRequest&& req, Responder respond) {
                        Result<std::optional<int64_t>> since = req.QueryInt("since");
                        Result<std::chrono::milliseconds> wait =
                            LongPollWait(req, kMaxManifestWait);
                        if (!since.ok()) return respond(BadRequest(since.status()));
                        if (!wait.ok()) return respond(BadRequest(wait.status()));
                        // The first check reads the store, so it runs on a worker;
                        // parking then costs no thread.
                        OnWorkers([this, since = *since, wait = *wait,
                                   respond]() { ctx_.manifest_watch.Wait(since, wait, respond); },
                                  respond);
                      }));
  if (ctx_.hints != nullptr) {
    server.Route("GET", "/node/prefetch",
                 Inline("GET /node/prefetch", Access::kNodeOrAdmin,
                        [this](HttpRequest&& req, Responder respond) {
                          Result<std::optional<int64_t>> since = req.QueryInt("since");
                          Result<std::chrono::milliseconds> wait =
                              LongPollWait(req, kMaxPrefetchWait);
                          if (!since.ok()) return respond(BadRequest(since.status()));
                          if (!wait.ok()) return respond(BadRequest(wait.status()));
                          // No store read: parked or answered on this thread.
                          ctx_.hints->Wait(*since, *wait, std::move(respond));
                        }));
  }
  server.Route("GET", "/api/nodes",
               Blocking("GET /api/nodes", Access::kAdmin,
                        [this](const HttpRequest&) { return ListNodes(); }));
  server.RoutePrefix("DELETE", kNodesPath,
                     Blocking("DELETE /api/nodes/{id}", Access::kAdmin,
                              [this](const HttpRequest& req) { return RemoveNode(req); }));
  server.RoutePrefix("POST", kNodesPath,
                     Blocking("POST /api/nodes/{id}/{action}", Access::kAdmin,
                              [this](const HttpRequest& req) { return ScheduleNode(req); }));
}

}  // namespace aether::control
