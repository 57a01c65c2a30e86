// /api/workflows (admin) and the workflow node protocol: GET /node/workflows
// (long-poll) and POST /node/workflows/status (the node's credential).
#include <boost/json.hpp>

#include "common/json_util.h"
#include "control/api.h"
#include "protocol/ids.h"
#include "protocol/instance_status.h"
#include "protocol/names.h"

namespace aether::control {
namespace {

namespace json = boost::json;

constexpr std::string_view kWorkflowsPath = "/api/workflows/";

HttpResponse BadRequest(std::string_view message) {
  return JsonError(400, "invalid_argument", message);
}

json::object InstanceJson(const InstanceView& i) {
  const InstanceReport& rep = i.report;
  json::object telemetry;
  for (const auto& [k, v] : rep.telemetry) telemetry[k] = v;
  json::object out{
      {"id", i.id},
      {"component", i.component},
      {"kind", i.resource ? "resource" : "function"},
      {i.resource ? "class_type" : "function", i.what},
      {"node_id", i.node_id},
      {"node_url", i.node_url},
      {"state", i.state},
      {"events", rep.events},
      {"failures", rep.failures},
      {"restarts", rep.restarts},
      {"dropped", rep.dropped},
      {"last_error", SanitizeUtf8(rep.last_error)},
      {"telemetry", std::move(telemetry)},
      {"reported_at", i.reported_at.empty() ? json::value(nullptr) : json::value(i.reported_at)}};
  if (!i.domain.empty()) out["domain"] = i.domain;
  return out;
}

json::array IngressJson(const std::vector<IngressView>& ingress) {
  json::array out;
  for (const IngressView& i : ingress) {
    out.push_back(json::object{{"component", i.component}, {"url", i.url}});
  }
  return out;
}

// GET /api/workflows/{id}
json::object WorkflowJson(const WorkflowView& w) {
  json::array instances;
  for (const InstanceView& i : w.instances) instances.push_back(InstanceJson(i));
  return {{"id", w.id},
          {"name", w.name},
          {"state", w.state},
          {"reason", w.reason},
          {"created_at", w.created_at},
          {"spec", json::parse(SerializeWorkflowSpec(w.spec))},
          {"instances", std::move(instances)},
          {"ingress", IngressJson(w.ingress)}};
}

// GET /api/workflows
json::object WorkflowListJson(const WorkflowList& list) {
  json::array out;
  for (const WorkflowSummary& w : list.workflows) {
    out.push_back(json::object{{"id", w.id},
                               {"name", w.name},
                               {"state", w.state},
                               {"reason", w.reason},
                               {"components", w.components},
                               {"instances", w.instances},
                               {"created_at", w.created_at}});
  }
  return {{"workflows", std::move(out)}, {"revision", list.revision}};
}

HttpResponse ApplyWorkflow(ApiContext& ctx, const HttpRequest& req) {
  if (req.body.size() > kMaxWorkflowSpecBytes) {
    return JsonError(413, "payload_too_large", "the workflow spec is larger than 1 MiB");
  }
  std::vector<std::string> warnings;
  Result<WorkflowView> out = ctx.workflows.Apply(req.body, std::string(kApiSource), &warnings);
  if (!out.ok()) {
    const Status& st = out.status();
    if (st.code() == Code::kInvalidArgument) return JsonError(400, "invalid_spec", st.message());
    if (st.code() == Code::kResourceExhausted)
      return JsonError(413, "payload_too_large", st.message());
    return JsonError(st);
  }
  json::object body{{"id", out->id},
                    {"state", out->state},
                    {"reason", out->reason},
                    {"ingress", IngressJson(out->ingress)}};
  if (!warnings.empty()) {
    json::array list;
    for (std::string& w : warnings) list.emplace_back(std::move(w));
    body["warnings"] = std::move(list);
  }
  HttpResponse r = JsonOk(body);
  r.status = 201;
  r.headers.emplace_back("Location", std::string(kWorkflowsPath) + out->id);
  return r;
}

// The id of /api/workflows/{id}: a name (protocol/names.h), else it names
// no workflow.
std::optional<std::string> PathId(const HttpRequest& req) {
  std::string id = req.path.substr(kWorkflowsPath.size());
  if (!protocol::IsName(id)) return std::nullopt;
  return id;
}

HttpResponse ReportStatus(ApiContext& ctx, const HttpRequest& req, const Caller& caller) {
  Result<json::object> body = ParseJsonObject(req.body);
  if (!body.ok()) return JsonError(400, "invalid_request", body.status().message());
  Result<std::string> node = GetString(*body, "node_id", caller.node_id);
  if (!node.ok()) return BadRequest(node.status().message());
  if (auto denied = ForeignNode(caller, *node)) return *denied;
  Result<protocol::StatusReport> report = protocol::StatusReportFromJson(*body, caller.node_id);
  if (!report.ok()) return BadRequest(report.status().message());
  if (Status st = ctx.workflows.Report(*node, std::move(report->instances)); !st.ok()) {
    if (st.code() == Code::kNotFound)
      return JsonError(404, "unknown_node", st.message() + "; register again");
    return JsonError(st);
  }
  return JsonOk(json::object{});
}

// POST /api/workflows/{id}/migrate {"node": N, "component": C (optional)}
HttpResponse MigrateWorkflow(ApiContext& ctx, const HttpRequest& req) {
  std::string_view rest = std::string_view(req.path).substr(kWorkflowsPath.size());
  size_t slash = rest.find('/');
  std::string id(rest.substr(0, slash));
  if (slash == std::string_view::npos || rest.substr(slash + 1) != "migrate") {
    return JsonError(404, "not_found", "no such route: POST /api/workflows/{id}/migrate");
  }
  if (!protocol::IsName(id)) return JsonError(404, "not_found", "no such workflow");
  Result<json::object> body = ParseJsonObject(req.body);
  if (!body.ok()) return JsonError(400, "invalid_request", body.status().message());
  // A cluster controller moves components to a domain; any other control
  // plane instances to a node.
  const bool cluster = ctx.domains != nullptr;
  const std::string target = cluster ? "domain" : "node";
  for (const auto& [k, v] : *body) {
    if (k != target && k != "component") {
      if (k == "node" || k == "domain") {
        return BadRequest(cluster ? "a cluster controller moves components between domains "
                                    "(\"domain\"); a domain's own control plane moves instances "
                                    "between its nodes"
                                  : "this control plane has no domains: move instances to a "
                                    "\"node\"");
      }
      return BadRequest("unknown field \"" + SanitizeUtf8(std::string(k).substr(0, 64)) + "\" (" +
                        target + ", component)");
    }
  }
  Result<std::string> node = GetString(*body, target);
  if (!node.ok()) return BadRequest(node.status().message());
  if (Status st = protocol::ValidateNodeId(*node, cluster ? "domain_id" : "node_id"); !st.ok()) {
    return BadRequest(st.message());
  }
  Result<std::string> component = GetString(*body, "component", "");
  if (!component.ok()) return BadRequest(component.status().message());
  if (!component->empty() && !protocol::IsName(*component)) {
    return BadRequest("component: not a component name: \"" +
                      SanitizeUtf8(component->substr(0, 64)) + "\"");
  }
  int moved = 0;
  Result<WorkflowView> out =
      ctx.workflows.Migrate(id, *component, *node, std::string(kApiSource), &moved);
  if (!out.ok()) return JsonError(out.status());
  json::object answer = WorkflowJson(*out);
  answer["moved"] = moved;
  return JsonOk(answer);
}

}  // namespace

void ControlApi::RegisterWorkflows(HttpServer& server) {
  server.Route("POST", "/api/workflows",
               Blocking("POST /api/workflows", Access::kAdmin, [this](const HttpRequest& req) {
                 if (auto owned = ControllerOwns()) return *owned;
                 return ApplyWorkflow(ctx_, req);
               }));
  server.Route("GET", "/api/workflows",
               Blocking("GET /api/workflows", Access::kAdmin, [this](const HttpRequest&) {
                 Result<WorkflowList> out = ctx_.workflows.List();
                 return out.ok() ? JsonOk(WorkflowListJson(*out)) : JsonError(out.status());
               }));
  server.RoutePrefix(
      "GET", kWorkflowsPath,
      Blocking("GET /api/workflows/{id}", Access::kAdmin, [this](const HttpRequest& req) {
        std::optional<std::string> id = PathId(req);
        if (!id) return JsonError(404, "not_found", "no such workflow");
        Result<WorkflowView> out = ctx_.workflows.Show(*id);
        return out.ok() ? JsonOk(WorkflowJson(*out)) : JsonError(out.status());
      }));
  server.RoutePrefix(
      "POST", kWorkflowsPath,
      Blocking("POST /api/workflows/{id}/migrate", Access::kAdmin,
               [this](const HttpRequest& req) { return MigrateWorkflow(ctx_, req); }));
  server.RoutePrefix(
      "DELETE", kWorkflowsPath,
      Blocking("DELETE /api/workflows/{id}", Access::kAdmin, [this](const HttpRequest& req) {
        if (auto owned = ControllerOwns()) return *owned;
        std::optional<std::string> id = PathId(req);
        if (!id) return JsonError(404, "not_found", "no such workflow");
        if (Status st = ctx_.workflows.Delete(*id, std::string(kApiSource)); !st.ok()) {
          return JsonError(st);
        }
        return JsonOk(json::object{{"deleted", *id}});
      }));
  server.Route("GET", "/node/workflows",
               InlineAs("GET /node/workflows", Access::kNode,
                        [this](HttpRequest&& req, const Caller& caller, Responder respond) {
                          Result<std::optional<int64_t>> since = req.QueryInt("since");
                          Result<std::chrono::milliseconds> wait =
                              LongPollWait(req, kMaxWorkflowsWait);
                          if (!since.ok()) return respond(BadRequest(since.status().message()));
                          if (!wait.ok()) return respond(BadRequest(wait.status().message()));
                          // A node reads its own assignments only.
                          std::string node = req.query.contains("node_id") ? req.query.at("node_id")
                                                                           : caller.node_id;
                          if (auto denied = ForeignNode(caller, node))
                            return respond(std::move(*denied));
                          // The first check reads the store, so it runs on a worker;
                          // parking then costs no thread.
                          OnWorkers(
                              [this, node, since = *since, wait = *wait, respond]() {
                                if (!ctx_.nodes.Has(node)) {
                                  return respond(JsonError(
                                      404, "unknown_node",
                                      "node " + node + " is not registered; register again"));
                                }
                                ctx_.workflow_watch.Wait(node, since, wait, respond);
                              },
                              respond);
                        }));
  server.Route("POST", "/node/workflows/status",
               BlockingAs("POST /node/workflows/status", Access::kNode,
                          [this](const HttpRequest& req, const Caller& caller) {
                            return ReportStatus(ctx_, req, caller);
                          }));
}

}  // namespace aether::control
