// /wf/{workflow}/{path} on the control plane: an http-ingress request
// forwarded to the engine that runs that ingress (Gateway::Forward), so a
// workflow has a stable entry at its control plane whichever node it moved
// to. On a cluster controller the instance's "node" is its domain, whose
// control plane forwards it on to its engine. Open like the engines' own
// /wf/ routes: an ingress is the workflow's public edge.
#include <fmt/format.h>

#include <cstdlib>

#include "common/json_util.h"
#include "common/resource_config.h"
#include "control/api.h"
#include "protocol/ids.h"
#include "protocol/names.h"

namespace aether::control {
namespace {

constexpr std::string_view kIngressPrefix = "/wf/";
// Room for the engine's queueing beyond the ingress's own timeout.
constexpr std::chrono::milliseconds kForwardSlack{10000};
// A request forwarded more often than controller -> domain -> engine is
// going round in circles (a domain registered with a URL that leads back):
// refused rather than passed on until every slot is taken.
constexpr int kMaxHops = 2;

}  // namespace

Result<IngressTarget> ControlApi::FindIngress(const std::string& workflow,
                                              const std::string& path) {
  ASSIGN_OR_RETURN(std::shared_ptr<const WorkflowSnapshot> snap,
                   ctx_.workflows.workflow_store().Snapshot());
  const WorkflowRecord* r = snap->Find(workflow);
  if (r == nullptr) return NotFound("no workflow " + workflow);
  for (const ResourceSpec& res : r->spec.resources) {
    if (res.class_type != "http-ingress") continue;
    Result<HttpIngressConfig> config = ParseHttpIngressConfig(res.configurations, res.name);
    if (!config.ok() || config->path != path) continue;
    auto it = r->placement.find(protocol::InstanceId(r->id, res.name, 0));
    if (it == r->placement.end() || it->second.node_id.empty()) {
      return Unavailable(
          fmt::format("the ingress {} of workflow {} is not placed (aether workflow show {})",
                      res.name, workflow, workflow));
    }
    const std::string& where = it->second.node_id;
    bool up = false;
    if (ctx_.domains != nullptr) {
      std::optional<DomainStatus> d = ctx_.domains->Get(where);
      up = d && d->up;
    } else {
      for (const NodeStatus& n : ctx_.nodes.List()) up |= n.reg.node_id == where && n.up;
    }
    if (!up) {
      return Unavailable(fmt::format(
          "the ingress {} of workflow {} is on {}, which is down; it moves when the orchestrator "
          "re-places it",
          res.name, workflow, where));
    }
    std::chrono::milliseconds timeout =
        (config->call || config->portal ? config->timeout : std::chrono::milliseconds(0)) +
        kForwardSlack;
    return IngressTarget{fmt::format("{}{}{}/{}", it->second.url, kIngressPrefix, workflow, path),
                         timeout};
  }
  return NotFound(
      fmt::format("no http-ingress for /wf/{}/{} in workflow {}", workflow, path, workflow));
}

void ControlApi::RegisterIngress(HttpServer& server) {
  auto handler = [this](HttpRequest&& req, const Responder& respond) {
    std::string_view rest = std::string_view(req.path).substr(kIngressPrefix.size());
    size_t slash = rest.find('/');
    std::string workflow(rest.substr(0, slash));
    std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
    while (!path.empty() && path.back() == '/') path.remove_suffix(1);
    if (!protocol::IsName(workflow)) {
      return respond(JsonError(404, "not_found",
                               "no workflow " + SanitizeUtf8(workflow.substr(0, 64)) +
                                   " (the path is /wf/{workflow}/{path})"));
    }
    int hops = 0;
    if (std::string_view h = req.Header(kHopsHeader); !h.empty()) {
      hops = h.size() > 2 ? kMaxHops + 1 : std::atoi(std::string(h).c_str());
    }
    if (hops >= kMaxHops) {
      return respond(JsonError(508, "loop_detected",
                               "this ingress request was forwarded " + std::to_string(hops) +
                                   " times already: a domain's URL leads back here"));
    }
    // Finding it reads the workflows (the store, when they moved): on a
    // worker; the forward itself then runs on this connection's IO thread.
    auto shared = std::make_shared<HttpRequest>(std::move(req));
    OnWorkers(
        [this, shared, workflow, path = std::string(path), hops, respond] {
          Result<IngressTarget> target = FindIngress(workflow, path);
          if (!target.ok()) {
            HttpResponse r = JsonError(target.status());
            if (target.status().code() == Code::kUnavailable)
              r.headers.emplace_back("Retry-After", "1");
            return respond(std::move(r));
          }
          ctx_.gateway.Forward(std::move(target->url), *shared, target->timeout, hops + 1, respond);
        },
        respond);
  };
  for (std::string_view method : {"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}) {
    server.RoutePrefix(
        method, kIngressPrefix,
        Inline(std::string(method) + " /wf/{workflow}/{path}", Access::kOpen, handler));
  }
}

}  // namespace aether::control
