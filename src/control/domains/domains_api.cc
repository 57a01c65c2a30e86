// The domain protocol (POST /domain/register, POST /domain/heartbeat, GET
// /domain/workflows, POST /domain/workflows/status; a domain also reads
// GET /node/manifest and /node/artifacts with its credential) and
// the domains (GET /api/domains[/{id}], DELETE /api/domains/{id}, POST
// /api/domains/{id}/cordon|uncordon|drain): a cluster controller's routes.
// Any other role answers them 409 wrong_role.
#include <boost/json.hpp>

#include "common/json_util.h"
#include "control/api.h"
#include "control/domains/domain_placer.h"
#include "protocol/domain.h"
#include "protocol/ids.h"
#include "protocol/instance_status.h"

namespace aether::control {
namespace {

namespace json = boost::json;

constexpr std::string_view kDomainsPath = "/api/domains/";

json::object DomainJson(const DomainStatus& d) {
  json::object labels;
  for (const auto& [k, v] : d.reg.labels) labels[k] = v;
  return json::object{{"domain_id", d.reg.domain_id},
                      {"url", d.reg.url},
                      {"state", d.up ? "up" : "down"},
                      {"scheduling", d.scheduling},
                      {"labels", std::move(labels)},
                      {"registered_at", d.registered_at},
                      {"last_heartbeat", d.last_heartbeat.empty() ? json::value(nullptr)
                                                                  : json::value(d.last_heartbeat)},
                      {"capabilities", protocol::CapabilitiesJson(d.capabilities)}};
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

HttpResponse UnknownDomain(std::string_view id) {
  return JsonError(404, "not_found", "no domain " + SanitizeUtf8(id.substr(0, 128)));
}

}  // namespace

HttpResponse ControlApi::RegisterDomain(const HttpRequest& req, const Caller& caller) {
  Result<json::object> body = ParseJsonObject(req.body);
  if (!body.ok()) return JsonError(400, "invalid_request", body.status().message());
  Result<protocol::DomainRegistration> reg = protocol::DomainRegistrationFromJson(*body);
  if (!reg.ok()) return BadRequest(reg.status());
  std::string id = reg->domain_id;
  if (caller.kind == Caller::Kind::kDomain && caller.domain_id != id) {
    return JsonError(403, "permission_denied",
                     "the credential sent is domain " + caller.domain_id +
                         "'s; a domain speaks only for itself");
  }
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  protocol::DomainRegisterReply out{
      id, duration_cast<milliseconds>(ctx_.config.domain.heartbeat_interval).count(),
      duration_cast<milliseconds>(ctx_.config.domain.timeout).count(), ""};
  if (caller.kind == Caller::Kind::kDomain) {
    if (Status st = ctx_.domains->Register(std::move(*reg)); !st.ok()) {
      if (st.code() == Code::kNotFound) {
        return JsonError(404, "unknown_domain", st.message() + "; register again");
      }
      return JsonError(st);
    }
    return JsonBody(protocol::EncodeDomainRegisterReply(out));
  }
  Result<std::string> secret = ctx_.domains->Admit(std::move(*reg));
  if (!secret.ok()) {
    if (secret.status().code() != Code::kAlreadyExists) return JsonError(secret.status());
    return JsonError(403, "domain_exists",
                     "domain " + id +
                         " is already registered, and only its own credential registers it "
                         "again (the domain join token only admits new domains). If this is "
                         "that domain and it lost its data directory (domain.credential), "
                         "remove the old entry first: aether domains rm " +
                         id);
  }
  out.credential = std::move(*secret);
  HttpResponse r = JsonBody(protocol::EncodeDomainRegisterReply(out));
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

HttpResponse ControlApi::DomainHeartbeat(const HttpRequest& req, const Caller& caller) {
  Result<json::object> body = ParseJsonObject(req.body);
  if (!body.ok()) return JsonError(400, "invalid_request", body.status().message());
  Result<protocol::DomainHeartbeat> beat =
      protocol::DomainHeartbeatFromJson(*body, caller.domain_id);
  if (!beat.ok()) return BadRequest(beat.status());
  if (beat->domain_id != caller.domain_id) {
    return JsonError(403, "permission_denied",
                     "the credential sent is domain " + caller.domain_id +
                         "'s; a domain speaks only for itself");
  }
  if (Status st = ctx_.domains->Beat(std::move(*beat)); !st.ok()) {
    if (st.code() == Code::kNotFound) {
      return JsonError(404, "unknown_domain", st.message() + "; register again");
    }
    return JsonError(st);
  }
  // What the domain fetches when it moved: its part of the workflows, and
  // the functions it mirrors.
  json::object out{{"status", "ok"}};
  if (Result<int64_t> rev = ctx_.workflows.workflow_store().Revision(); rev.ok()) {
    out["workflows_revision"] = *rev;
  }
  if (Result<int64_t> rev = ctx_.functions.Revision(); rev.ok()) out["functions_revision"] = *rev;
  return JsonOk(out);
}

HttpResponse ControlApi::DomainWorkflows(const Caller& caller) {
  Result<std::shared_ptr<const WorkflowSnapshot>> snap = ctx_.workflows.workflow_store().Snapshot();
  if (!snap.ok()) return JsonError(snap.status());
  json::array list;
  for (const WorkflowRecord& r : (*snap)->workflows) {
    std::optional<WorkflowSpec> part =
        DomainPart(r.spec, r.placement, r.id, caller.domain_id, ctx_.tokens.admin);
    if (!part) continue;
    Result<json::value> spec = ParseJson(SerializeWorkflowSpec(*part));
    if (!spec.ok()) return JsonError(spec.status());
    list.push_back(json::object{{"id", r.id}, {"spec", std::move(*spec)}});
  }
  // Incomplete (a record could not be read): the domain must not take the
  // missing workflows for deleted.
  return JsonOk(json::object{{"revision", (*snap)->revision},
                             {"complete", (*snap)->complete},
                             {"workflows", std::move(list)}});
}

HttpResponse ControlApi::DomainInstances(const HttpRequest& req, const Caller& caller) {
  Result<json::object> body = ParseJsonObject(req.body);
  if (!body.ok()) return JsonError(400, "invalid_request", body.status().message());
  Result<protocol::StatusReport> report = protocol::StatusReportFromJson(*body, caller.domain_id);
  if (!report.ok()) return BadRequest(report.status());
  if (report->node_id != caller.domain_id) {
    return JsonError(403, "permission_denied", "a domain reports only for itself");
  }
  if (Status st = ctx_.workflows.Report(caller.domain_id, std::move(report->instances)); !st.ok()) {
    return JsonError(st);
  }
  return JsonOk(json::object{{"status", "ok"}});
}

std::optional<HttpResponse> ControlApi::ControllerOwns() const {
  if (ctx_.role != kRoleDomain) return std::nullopt;
  return JsonError(409, "wrong_role",
                   "this control plane is a domain under a cluster controller ([domain] role = "
                   "domain): deploy functions and apply workflows at the controller, which hands "
                   "them to its domains");
}

HttpResponse ControlApi::ListDomains() {
  json::array domains;
  for (const DomainStatus& d : ctx_.domains->List()) domains.push_back(DomainJson(d));
  return JsonOk(json::object{{"domains", std::move(domains)}});
}

HttpResponse ControlApi::DomainAction(const HttpRequest& req) {
  std::string_view rest = std::string_view(req.path).substr(kDomainsPath.size());
  size_t slash = rest.find('/');
  std::string id(rest.substr(0, slash));
  if (!protocol::IsNodeId(id)) return UnknownDomain(id);
  if (req.method == "GET") {
    if (slash != std::string_view::npos) return JsonError(404, "not_found", "no such route");
    std::optional<DomainStatus> d = ctx_.domains->Get(id);
    if (!d) return UnknownDomain(id);
    return JsonOk(DomainJson(*d));
  }
  std::string_view action = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
  std::string_view scheduling = SchedulingOf(action);
  if (scheduling.empty()) {
    return JsonError(404, "not_found",
                     "no route POST /api/domains/{id}/" +
                         SanitizeUtf8(std::string(action.substr(0, 64))) +
                         " (cordon, uncordon or drain)");
  }
  if (Status st = ctx_.domains->SetScheduling(id, scheduling, std::string(kApiSource)); !st.ok()) {
    if (st.code() == Code::kNotFound) return UnknownDomain(id);
    return JsonError(st);
  }
  std::optional<DomainStatus> d = ctx_.domains->Get(id);
  if (!d) return UnknownDomain(id);
  return JsonOk(DomainJson(*d));
}

HttpResponse ControlApi::RemoveDomain(const HttpRequest& req) {
  std::string id = req.path.substr(kDomainsPath.size());
  if (!protocol::IsNodeId(id)) return UnknownDomain(id);
  if (Status st = ctx_.domains->Remove(id, std::string(kApiSource)); !st.ok()) {
    if (st.code() == Code::kNotFound) return UnknownDomain(id);
    return JsonError(st);
  }
  return JsonOk(json::object{{"removed", id}});
}

void ControlApi::RegisterDomains(HttpServer& server) {
  // Every route of a controller's, answered 409 by the other roles: a
  // domain pointed at a domain's control plane (or an operator asking one
  // for domains) is told where to go.
  auto cluster_only = [this](CallerSyncFn fn) -> CallerSyncFn {
    return [this, fn = std::move(fn)](const HttpRequest& req, const Caller& caller) {
      if (ctx_.domains == nullptr) {
        return JsonError(409, "wrong_role",
                         "this control plane runs with [domain] role = " + std::string(ctx_.role) +
                             "; domains belong to a cluster controller (aether-control --role "
                             "cluster)");
      }
      return fn(req, caller);
    };
  };
  // A role without domains has no domain credentials either: the header
  // check of kDomain would refuse every caller, so those routes are
  // admitted as kOpen there and answered 409 above.
  bool cluster = ctx_.domains != nullptr;
  server.Route("POST", "/domain/register",
               BlockingAs("POST /domain/register", cluster ? Access::kDomainJoin : Access::kOpen,
                          cluster_only([this](const HttpRequest& req, const Caller& caller) {
                            return RegisterDomain(req, caller);
                          })));
  server.Route("POST", "/domain/heartbeat",
               BlockingAs("POST /domain/heartbeat", cluster ? Access::kDomain : Access::kOpen,
                          cluster_only([this](const HttpRequest& req, const Caller& caller) {
                            return DomainHeartbeat(req, caller);
                          })));
  server.Route("GET", "/domain/workflows",
               BlockingAs("GET /domain/workflows", cluster ? Access::kDomain : Access::kOpen,
                          cluster_only([this](const HttpRequest&, const Caller& caller) {
                            return DomainWorkflows(caller);
                          })));
  server.Route(
      "POST", "/domain/workflows/status",
      BlockingAs("POST /domain/workflows/status", cluster ? Access::kDomain : Access::kOpen,
                 cluster_only([this](const HttpRequest& req, const Caller& caller) {
                   return DomainInstances(req, caller);
                 })));
  server.Route("GET", "/api/domains",
               BlockingAs("GET /api/domains", Access::kAdmin,
                          cluster_only([this](const HttpRequest&, const Caller&) {
                            return ListDomains();
                          })));
  for (const char* method : {"GET", "POST"}) {
    server.RoutePrefix(method, kDomainsPath,
                       BlockingAs(std::string(method) + " /api/domains/{id}", Access::kAdmin,
                                  cluster_only([this](const HttpRequest& req, const Caller&) {
                                    return DomainAction(req);
                                  })));
  }
  server.RoutePrefix("DELETE", kDomainsPath,
                     BlockingAs("DELETE /api/domains/{id}", Access::kAdmin,
                                cluster_only([this](const HttpRequest& req, const Caller&) {
                                  return RemoveDomain(req);
                                })));
}

}  // namespace aether::control
