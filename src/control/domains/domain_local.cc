#include "control/domains/domain_local.h"

#include <boost/json.hpp>
#include <set>

#include "common/config.h"  // ServerlessClassLabel
#include "common/log.h"
#include "common/resource_config.h"
#include "control/function_registry.h"
#include "control/node_registry.h"
#include "control/workflows/orchestrator.h"
#include "control/workflows/workflow_placer.h"

namespace aether::control {
namespace {

namespace json = boost::json;

// Events of what the agent changes here name its controller as the source.
constexpr std::string_view kSource = "controller";

EnvMap EnvOf(const protocol::ManifestEntry& e) { return EnvMap(e.env.begin(), e.env.end()); }

bool SameVersion(const VersionInfo& here, const protocol::ManifestEntry& there) {
  return here.sha256 == there.sha256 && here.env == EnvOf(there) &&
         here.limits.memory_limit == there.memory_limit_bytes &&
         here.limits.timeout.count() == there.timeout_ms;
}

class ServiceDomainLocal final : public DomainLocal {
 public:
  ServiceDomainLocal(FunctionRegistry& functions, NodeRegistry& nodes, Orchestrator& orchestrator)
      : functions_(functions), nodes_(nodes), orchestrator_(orchestrator) {}

  protocol::DomainCapabilities Capabilities() override {
    protocol::DomainCapabilities caps;
    int64_t busy = 0;
    for (const NodeStatus& n : nodes_.List()) {
      ++caps.nodes_total;
      if (!n.up) continue;
      ++caps.nodes_up;
      json::object capacity = protocol::CapacityObject(n.reg.capacity);
      if (const json::value* w = capacity.if_contains("workers"); w && w->is_int64()) {
        caps.workers += std::max<int64_t>(0, w->as_int64());
      }
      busy += n.load.inflight + n.load.queue;
      if (n.scheduling == kSchedulingActive && caps.nodes.size() < protocol::kMaxDomainNodes) {
        caps.nodes.push_back({n.reg.node_id, n.reg.labels});
      }
    }
    caps.free_workers = std::max<int64_t>(0, caps.workers - busy);
    caps.runtimes = {"wasm"};
    caps.resource_classes = KnownResourceClasses();
    // With the serverless classes its nodes provide (their labels).
    const std::string prefix = ServerlessClassLabel("");
    for (const NodeStatus& n : nodes_.List()) {
      for (const auto& [key, value] : n.reg.labels) {
        // A label set by hand may be longer than a class name can be.
        if (!key.starts_with(prefix) || key.size() == prefix.size() ||
            key.size() > prefix.size() + 63) {
          continue;
        }
        std::string cls = key.substr(prefix.size());
        if (caps.resource_classes.size() < protocol::kMaxDomainClasses &&
            std::find(caps.resource_classes.begin(), caps.resource_classes.end(), cls) ==
                caps.resource_classes.end()) {
          caps.resource_classes.push_back(std::move(cls));
        }
      }
    }
    Result<std::shared_ptr<const WorkflowSnapshot>> snap =
        orchestrator_.workflow_store().Snapshot();
    if (snap.ok()) {
      for (const auto& [node, count] : PlacedPerNode(**snap)) caps.instances += count;
    } else {
      caps.health = "degraded";
    }
    return caps;
  }

  Status MirrorFunctions(
      const protocol::Manifest& manifest,
      const std::function<Result<std::string>(const std::string& sha256)>& fetch) override {
    ASSIGN_OR_RETURN(std::shared_ptr<const Manifest> here, functions_.GetManifest());
    std::map<std::string, const VersionInfo*> current;
    for (const FunctionInfo& f : here->functions) current[f.name] = &f.current;
    std::set<std::string> listed;
    for (const protocol::ManifestEntry& e : manifest.functions) {
      listed.insert(e.name);
      auto it = current.find(e.name);
      if (it != current.end() && SameVersion(*it->second, e)) continue;
      ASSIGN_OR_RETURN(std::string wasm, fetch(e.sha256));
      DeployRequest req{
          e.name, std::move(wasm), EnvOf(e),
          FunctionLimits{e.memory_limit_bytes, std::chrono::milliseconds(e.timeout_ms)}};
      ASSIGN_OR_RETURN(VersionInfo v, functions_.Deploy(std::move(req), std::string(kSource)));
      LOG_INFO("function {} version {} taken from the controller", e.name, v.version);
    }
    for (const auto& [name, version] : current) {
      if (listed.contains(name)) continue;
      // A workflow here still using it goes first (MirrorWorkflows runs
      // after this; the next sync deletes it then).
      Result<std::vector<std::string>> users = orchestrator_.WorkflowsUsing(name);
      if (users.ok() && !users->empty()) continue;
      Result<int64_t> deleted = functions_.Delete(name, std::string(kSource));
      if (!deleted.ok() && deleted.status().code() != Code::kNotFound) return deleted.status();
      LOG_INFO("function {} deleted, as at the controller", name);
    }
    return OkStatus();
  }

  Status MirrorWorkflows(const std::map<std::string, std::string>& parts) override {
    // One part that cannot be taken (say, its function failed to deploy
    // here) does not hold the others back.
    Status first;
    for (const auto& [id, spec] : parts) {
      bool changed = false;
      Status st = orchestrator_.Put(id, spec, std::string(kSource), &changed);
      if (!st.ok() && first.ok()) first = Status(st.code(), "workflow " + id + ": " + st.message());
    }
    ASSIGN_OR_RETURN(WorkflowList here, orchestrator_.List());
    for (const WorkflowSummary& w : here.workflows) {
      if (parts.contains(w.id)) continue;
      Status st = orchestrator_.Delete(w.id, std::string(kSource));
      if (!st.ok() && st.code() != Code::kNotFound && first.ok()) first = st;
    }
    return first;
  }

  std::vector<protocol::InstanceStatus> Instances() override {
    std::vector<protocol::InstanceStatus> out;
    Result<WorkflowList> here = orchestrator_.List();
    if (!here.ok()) return out;
    for (const WorkflowSummary& w : here->workflows) {
      Result<WorkflowView> view = orchestrator_.Show(w.id);
      if (!view.ok()) continue;
      for (const InstanceView& i : view->instances) {
        // Only what an engine reported: "placed" or "lost" here is for the
        // controller to tell from the domain's liveness.
        if (i.reported_at.empty() || i.state != i.report.state) continue;
        protocol::InstanceStatus s = i.report;
        s.id = i.id;
        s.node_id = i.node_id;
        out.push_back(std::move(s));
        if (out.size() >= protocol::kMaxReportedInstances) return out;
      }
    }
    return out;
  }

 private:
  FunctionRegistry& functions_;
  NodeRegistry& nodes_;
  Orchestrator& orchestrator_;
};

}  // namespace

std::unique_ptr<DomainLocal> NewServiceDomainLocal(FunctionRegistry& functions, NodeRegistry& nodes,
                                                   Orchestrator& orchestrator) {
  return std::make_unique<ServiceDomainLocal>(functions, nodes, orchestrator);
}

}  // namespace aether::control
