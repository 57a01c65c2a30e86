// /api/workflows (admin) and the workflow node protocol: GET /node/workflows
// (long-poll) and POST /node/workflows/status (the node's credential).
#include <boost/json.hpp>

#include "common/json_util.h"
#include "control/api.h"
#include "control/validation.h"

namespace aether::control {
namespace {

namespace json = boost::json;

constexpr std::string_view kWorkflowsPath = "/api/workflows/";
// Bounds of a status report.
constexpr size_t kMaxReportedInstances = 10000;
constexpr size_t kMaxTelemetry = 64;
constexpr size_t kMaxNameLength = 128;
constexpr size_t kMaxLastError = 4096;

HttpResponse BadRequest(std::string_view message) {
  return JsonError(400, "invalid_argument", message);
}


HttpResponse ApplyWorkflow(ApiContext& ctx, const HttpRequest& req) {
  if (req.body.size() > kMaxWorkflowSpecBytes) {
    return JsonError(413, "payload_too_large", "the workflow spec is larger than 1 MiB");
  }
  Result<json::object> out = ctx.workflows.Apply(req.body, std::string(kApiSource));
  if (!out.ok()) {
    const Status& st = out.status();
    if (st.code() == Code::kInvalidArgument) return JsonError(400, "invalid_spec", st.message());
    if (st.code() == Code::kResourceExhausted)
      return JsonError(413, "payload_too_large", st.message());
    return JsonError(st);
  }
  HttpResponse r = JsonOk(*out);
  r.status = 201;
  r.headers.emplace_back("Location",
                         std::string(kWorkflowsPath) + (*out)["id"].as_string().c_str());
  return r;
}

// The id of /api/workflows/{id}: [a-z0-9][a-z0-9_-]{0,62}, else it names
// no workflow.
std::optional<std::string> PathId(const HttpRequest& req) {
  std::string id = req.path.substr(kWorkflowsPath.size());
  if (id.empty() || id.size() > 63 || id[0] == '-' || id[0] == '_') return std::nullopt;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return std::nullopt;
  }
  return id;
}

Result<InstanceReport> ParseReport(const json::value& v, size_t index) {
  std::string at = "instances[" + std::to_string(index) + "]";
  if (!v.is_object()) return InvalidArgument(at + " must be an object");
  const json::object& o = v.get_object();
  InstanceReport r;
  auto field = [&](Status st) { return InvalidArgument(at + ": " + st.message()); };
  Result<std::string> id = GetString(o, "id");
  if (!id.ok()) return field(id.status());
  r.id = std::move(*id);
  Result<std::string> state = GetString(o, "state");
  if (!state.ok()) return field(state.status());
  if (*state != "starting" && *state != "running" && *state != "restarting" && *state != "failed") {
    return InvalidArgument(at + ".state must be starting, running, restarting or failed");
  }
  r.state = std::move(*state);
  for (auto [name, out] : {std::pair{"events", &r.events}, std::pair{"failures", &r.failures},
                           std::pair{"restarts", &r.restarts}, std::pair{"dropped", &r.dropped}}) {
    Result<int64_t> n = GetInt(o, name, 0);
    if (!n.ok()) return field(n.status());
    *out = std::max<int64_t>(0, *n);
  }
  Result<std::string> err = GetString(o, "last_error", "");
  if (!err.ok()) return field(err.status());
  r.last_error = err->substr(0, kMaxLastError);
  if (const json::value* t = o.if_contains("telemetry"); t && !t->is_null()) {
    if (!t->is_object() || t->get_object().size() > kMaxTelemetry) {
      return InvalidArgument(at + ".telemetry must be an object of at most 64 numbers");
    }
    for (const auto& [k, val] : t->get_object()) {
      if (!val.is_number() || k.size() > kMaxNameLength) {
        return InvalidArgument(at + ".telemetry must map short names to numbers");
      }
      r.telemetry[std::string(k)] = val.to_number<double>();
    }
  }
  return r;
}

HttpResponse ReportStatus(ApiContext& ctx, const HttpRequest& req, const Caller& caller) {
  Result<json::object> body = ParseJsonObject(req.body);
  if (!body.ok()) return JsonError(400, "invalid_request", body.status().message());
  Result<std::string> node = GetString(*body, "node_id", caller.node_id);
  if (!node.ok()) return BadRequest(node.status().message());
  if (auto denied = ForeignNode(caller, *node)) return *denied;
  Result<const json::array*> list = GetArray(*body, "instances");
  if (!list.ok()) return BadRequest(list.status().message());
  if ((*list)->size() > kMaxReportedInstances)
    return BadRequest("at most 10000 instances per report");
  std::vector<InstanceReport> reports;
  for (size_t i = 0; i < (*list)->size(); ++i) {
    Result<InstanceReport> r = ParseReport((**list)[i], i);
    if (!r.ok()) return BadRequest(r.status().message());
    reports.push_back(std::move(*r));
  }
  if (Status st = ctx.workflows.Report(*node, std::move(reports)); !st.ok()) {
    if (st.code() == Code::kNotFound)
      return JsonError(404, "unknown_node", st.message() + "; register again");
    return JsonError(st);
  }
  return JsonOk(json::object{});
}

}  // namespace

void ControlApi::RegisterWorkflows(HttpServer& server) {
  server.Route("POST", "/api/workflows",
               Blocking("POST /api/workflows", Access::kAdmin,
                        [this](const HttpRequest& req) { return ApplyWorkflow(ctx_, req); }));
  server.Route("GET", "/api/workflows",
               Blocking("GET /api/workflows", Access::kAdmin, [this](const HttpRequest&) {
                 Result<json::object> out = ctx_.workflows.List();
                 return out.ok() ? JsonOk(*out) : JsonError(out.status());
               }));
  server.RoutePrefix(
      "GET", kWorkflowsPath,
      Blocking("GET /api/workflows/{id}", Access::kAdmin, [this](const HttpRequest& req) {
        std::optional<std::string> id = PathId(req);
        if (!id) return JsonError(404, "not_found", "no such workflow");
        Result<json::object> out = ctx_.workflows.Show(*id);
        return out.ok() ? JsonOk(*out) : JsonError(out.status());
      }));
  server.RoutePrefix(
      "DELETE", kWorkflowsPath,
      Blocking("DELETE /api/workflows/{id}", Access::kAdmin, [this](const HttpRequest& req) {
        std::optional<std::string> id = PathId(req);
        if (!id) return JsonError(404, "not_found", "no such workflow");
        if (Status st = ctx_.workflows.Delete(*id, std::string(kApiSource)); !st.ok()) {
          return JsonError(st);
        }
        return JsonOk(json::object{{"deleted", *id}});
      }));
  server.Route(
      "GET", "/node/workflows",
      InlineAs("GET /node/workflows", Access::kNode, [this](HttpRequest&& req, const Caller& caller,
                                                           Responder respond) {
        Result<std::optional<int64_t>> since = req.QueryInt("since");
        Result<std::optional<int64_t>> wait = req.QueryInt("wait");
        if (!since.ok()) return respond(BadRequest(since.status().message()));
        if (!wait.ok()) return respond(BadRequest(wait.status().message()));
        // A node reads its own assignments only.
        std::string node = req.query.contains("node_id") ? req.query.at("node_id") : caller.node_id;
        if (auto denied = ForeignNode(caller, node)) return respond(std::move(*denied));
        auto wait_ms = std::chrono::milliseconds(
            std::min<int64_t>(wait->value_or(0), kMaxWorkflowsWait.count()) * 1000);
        // The first check reads the store, so it runs on a worker;
        // parking then costs no thread.
        Status queued = ctx_.workers.Post([this, node, since = *since, wait_ms, respond]() {
          if (!ctx_.nodes.Has(node)) {
            return respond(JsonError(404, "unknown_node",
                                     "node " + node + " is not registered; register again"));
          }
          ctx_.workflow_watch.Wait(node, since, wait_ms, respond);
        });
        if (!queued.ok())
          respond(JsonError(503, "overloaded", "the control plane is busy; retry later"));
      }));
  server.Route("POST", "/node/workflows/status",
               BlockingAs("POST /node/workflows/status", Access::kNode,
                          [this](const HttpRequest& req, const Caller& caller) {
                            return ReportStatus(ctx_, req, caller);
                          }));
}

}  // namespace aether::control
