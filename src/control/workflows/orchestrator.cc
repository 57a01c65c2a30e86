#include "control/workflows/orchestrator.h"

#include <boost/json.hpp>
#include <set>

#include "common/json_util.h"
#include "common/log.h"
#include "common/resource_config.h"
#include "control/workflows/placement.h"
#include "protocol/ids.h"

namespace aether::control {
namespace {

namespace json = boost::json;

constexpr std::string_view kControlSource = "control";
// At most this many problems are spelled out in a degraded workflow's reason.
constexpr size_t kMaxReasons = 3;

using ShaMap = std::map<std::string, std::string>;  // function -> current sha256

Result<ShaMap> CurrentVersions(FunctionRegistry& functions) {
  ASSIGN_OR_RETURN(std::shared_ptr<const Manifest> m, functions.GetManifest());
  ShaMap out;
  for (const FunctionInfo& f : m->functions) out[f.name] = f.current.sha256;
  return out;
}

// Demands with functions that are not deployed (any more) blocked.
std::vector<PlacementDemand> Demands(const WorkflowSpec& spec, const ShaMap& shas) {
  std::vector<PlacementDemand> out = DemandsOf(spec);
  for (size_t i = 0; i < spec.functions.size(); ++i) {
    if (!shas.contains(spec.functions[i].function)) {
      out[i].blocked = "function \"" + spec.functions[i].function + "\" is not deployed";
    }
  }
  return out;
}

std::vector<PlacementNode> ToPlacementNodes(const std::vector<NodeStatus>& list) {
  std::vector<PlacementNode> out;
  for (const NodeStatus& n : list) {
    out.push_back({n.reg.node_id, n.reg.labels, n.up, n.load.inflight + n.load.queue});
  }
  return out;
}

// Workflow instances per up node, over every workflow of `snap` except `skip`.
std::map<std::string, int64_t> InstanceCounts(const WorkflowSnapshot& snap,
                                              const std::vector<PlacementNode>& nodes) {
  std::set<std::string> up;
  for (const PlacementNode& n : nodes) {
    if (n.up) up.insert(n.id);
  }
  std::map<std::string, int64_t> counts;
  for (const WorkflowRecord& r : snap.workflows) {
    for (const auto& [id, p] : r.placement) {
      if (up.contains(p.node_id)) ++counts[p.node_id];
    }
  }
  return counts;
}

// The stored placement for a placement result.
std::map<std::string, PlacedInstance> Materialize(const WorkflowSpec& spec,
                                                  const PlacementResult& res,
                                                  const std::vector<NodeStatus>& nodes,
                                                  const ShaMap& shas) {
  std::map<std::string, const NodeStatus*> by_id;
  for (const NodeStatus& n : nodes) by_id[n.reg.node_id] = &n;
  std::map<std::string, std::string> function_of;  // component -> function
  for (const FunctionSpec& f : spec.functions) function_of[f.name] = f.function;
  std::map<std::string, PlacedInstance> out;
  for (const auto& [id, node] : res.assignment) {
    PlacedInstance p;
    p.node_id = node;
    if (auto n = by_id.find(node); n != by_id.end()) {
      p.url = n->second->reg.url;
      p.credential_id = n->second->credential_id;
    }
    std::string component = id.substr(0, id.rfind('/'));
    component = component.substr(component.find('/') + 1);
    if (auto f = function_of.find(component); f != function_of.end()) {
      if (auto s = shas.find(f->second); s != shas.end()) p.sha256 = s->second;
    }
    out[id] = std::move(p);
  }
  return out;
}

std::string JoinReasons(const std::vector<std::string>& reasons) {
  std::string out;
  for (const std::string& r : reasons) out += (out.empty() ? "" : "; ") + r;
  return out;
}

json::array Strings(const std::vector<std::string>& v) {
  json::array a;
  for (const std::string& s : v) a.push_back(json::string(s));
  return a;
}

}  // namespace

Orchestrator::Orchestrator(Store& store, FunctionRegistry& functions, NodeRegistry& nodes,
                           EventLog& events, MetricsRegistry& metrics, OrchestratorOptions options)
    : store_(store),
      functions_(functions),
      nodes_(nodes),
      events_(events),
      options_(options),
      workflows_(store),
      workflows_gauge_(metrics.AddGauge("aether_control_workflows", "Workflows by state")),
      instances_gauge_(metrics.AddGauge("aether_control_workflow_instances",
                                        "Workflow instances by placement (placed, unplaced)")),
      rng_(std::random_device{}()) {}

Orchestrator::~Orchestrator() { Stop(); }

void Orchestrator::Start() {
  if (Status st = Reconcile(); !st.ok()) LOG_WARN("workflows: {}", st.message());
  thread_ = std::thread([this] { Run(); });
}

void Orchestrator::Stop() {
  {
    std::lock_guard lock(thread_mu_);
    stopping_ = true;
  }
  thread_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Orchestrator::Run() {
  Result<int64_t> seen = store_.Revision();
  int64_t rev = seen.ok() ? *seen : 0;
  while (true) {
    {
      std::lock_guard lock(thread_mu_);
      if (stopping_) return;
    }
    // Any store write (apply, delete, node up/down/register, deploy) wakes
    // this at once; the period catches load changes, which are not stored.
    Result<int64_t> r = store_.WaitForRevision(rev, options_.period);
    if (r.ok()) rev = *r;
    if (Status st = Reconcile(); !st.ok()) LOG_WARN("workflows: reconcile: {}", st.message());
  }
}

std::string Orchestrator::NewId() {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = "wf-";
  uint64_t v = rng_();
  for (int i = 0; i < 8; ++i) id += kHex[(v >> (4 * i)) & 0xf];
  return id;
}

void Orchestrator::Record(const std::string& type, const std::string& source, std::string data) {
  auto r = events_.Append(type, source, std::move(data));
  if (!r.ok()) LOG_WARN("recording {}: {}", type, r.status().message());
}

std::map<std::string, Orchestrator::NodeView> Orchestrator::Nodes() const {
  std::map<std::string, NodeView> out;
  for (const NodeStatus& n : nodes_.List()) out[n.reg.node_id] = {n.reg.url, n.up};
  return out;
}

Result<WorkflowView> Orchestrator::Apply(std::string_view spec_json, const std::string& source) {
  if (spec_json.size() > kMaxWorkflowSpecBytes) {
    return ResourceExhausted("the workflow spec is larger than 1 MiB");
  }
  ASSIGN_OR_RETURN(ShaMap shas, CurrentVersions(functions_));
  SpecCheckHooks hooks;
  hooks.function_exists = [&shas](const std::string& name) { return shas.contains(name); };
  ASSIGN_OR_RETURN(WorkflowSpec spec, ParseWorkflowSpec(spec_json, hooks));

  std::lock_guard lock(reconcile_mu_);
  ASSIGN_OR_RETURN(std::shared_ptr<const WorkflowSnapshot> snap, workflows_.Snapshot());
  std::vector<NodeStatus> node_list = nodes_.List();
  std::vector<PlacementNode> nodes = ToPlacementNodes(node_list);
  WorkflowRecord rec;
  rec.name = spec.name;
  rec.created_at = NowRfc3339();
  rec.spec = std::move(spec);
  std::vector<PlacementDemand> demands = Demands(rec.spec, shas);
  for (int attempt = 0;; ++attempt) {
    rec.id = rec.name.empty() ? NewId() : rec.name;
    std::map<std::string, int64_t> counts = InstanceCounts(*snap, nodes);
    PlacementResult res = Place(rec.id, demands, {}, nodes, counts);
    rec.placement = Materialize(rec.spec, res, node_list, shas);
    rec.reason = JoinReasons(res.reasons);
    Status st = workflows_.Create(rec);
    if (st.ok()) break;
    // A generated id that collides: draw another.
    if (st.code() != Code::kAlreadyExists || !rec.name.empty() || attempt >= 8) return st;
  }
  LOG_INFO("workflow {} applied ({} instances)", rec.id, rec.placement.size());
  Record("workflow_applied", source,
         ToJson(json::object{{"workflow", rec.id},
                             {"name", rec.name},
                             {"components", rec.spec.functions.size() + rec.spec.resources.size()},
                             {"instances", rec.placement.size()}}));
  if (!rec.reason.empty()) {
    Record("workflow_pending", std::string(kControlSource),
           ToJson(json::object{{"workflow", rec.id}, {"reason", rec.reason}}));
  }
  WorkflowView view = Describe(rec, Nodes()).view;
  view.spec = std::move(rec.spec);
  return view;
}

Status Orchestrator::Delete(const std::string& id, const std::string& source) {
  {
    std::lock_guard lock(reconcile_mu_);
    RETURN_IF_ERROR(workflows_.Delete(id));
  }
  {
    std::lock_guard lock(status_mu_);
    std::string prefix = id + "/";
    for (auto it = statuses_.lower_bound(prefix);
         it != statuses_.end() && it->first.starts_with(prefix);) {
      it = statuses_.erase(it);
    }
  }
  LOG_INFO("workflow {} deleted", id);
  Record("workflow_deleted", source, ToJson(json::object{{"workflow", id}}));
  return OkStatus();
}

Orchestrator::Described Orchestrator::Describe(const WorkflowRecord& r,
                                               const std::map<std::string, NodeView>& nodes) {
  Described d;
  WorkflowView& v = d.view;
  v.id = r.id;
  v.name = r.name;
  v.created_at = r.created_at;
  int64_t waiting = 0;
  std::vector<std::string> problems;
  std::lock_guard lock(status_mu_);
  auto add = [&](const std::string& component, int count, bool resource, const std::string& what) {
    for (int i = 0; i < count; ++i) {
      std::string id = protocol::InstanceId(r.id, component, i);
      PlacedInstance p;
      if (auto it = r.placement.find(id); it != r.placement.end()) p = it->second;
      InstanceView o{id, component, resource, what, p.node_id, p.url, "", {}, ""};
      std::string& state = o.state;
      const Reported* rep = nullptr;
      if (auto s = statuses_.find(id); s != statuses_.end() && s->second.node_id == p.node_id) {
        rep = &s->second;
      }
      auto node = nodes.find(p.node_id);
      if (p.node_id.empty()) {
        state = "unplaced";
        ++d.unplaced;
      } else {
        ++d.placed;
        if (node == nodes.end() || !node->second.up) {
          state = "lost";
          problems.push_back("instance " + id + ": node " + p.node_id + " is down");
        } else if (rep) {
          state = rep->report.state;
          if (state == "restarting" || state == "failed") {
            std::string p2 = "instance " + id + " is " + state;
            if (!rep->report.last_error.empty()) p2 += ": " + rep->report.last_error;
            problems.push_back(std::move(p2));
          } else if (state != "running") {
            ++waiting;
          }
        } else {
          state = "placed";
          ++waiting;
        }
      }
      if (rep) {
        o.report = rep->report;
        o.reported_at = rep->at;
      }
      v.instances.push_back(std::move(o));
    }
  };
  for (const FunctionSpec& f : r.spec.functions) {
    add(f.name, std::max(1, f.max_instances), false, f.function);
  }
  for (const ResourceSpec& res : r.spec.resources) {
    add(res.name, 1, true, res.class_type);
    if (res.class_type != "http-ingress") continue;
    Result<HttpIngressConfig> cfg = ParseHttpIngressConfig(res.configurations, res.name);
    std::string path = cfg.ok() ? cfg->path : res.name;
    std::string url;
    if (auto it = r.placement.find(protocol::InstanceId(r.id, res.name, 0));
        it != r.placement.end() && !it->second.url.empty()) {
      url = it->second.url + "/wf/" + r.id + "/" + path;
    }
    v.ingress.push_back({res.name, std::move(url)});
  }
  if (d.unplaced > 0) {
    v.state = "pending";
    v.reason = r.reason.empty() ? std::to_string(d.unplaced) + " instance(s) not placed" : r.reason;
  } else if (!problems.empty()) {
    v.state = "degraded";
    if (problems.size() > kMaxReasons) {
      size_t more = problems.size() - kMaxReasons;
      problems.resize(kMaxReasons);
      problems.push_back("and " + std::to_string(more) + " more");
    }
    v.reason = JoinReasons(problems);
  } else if (waiting > 0) {
    v.state = "pending";
    v.reason = "waiting for " + std::to_string(waiting) + " instance(s) to start";
  } else {
    v.state = "running";
  }
  return d;
}

Result<WorkflowView> Orchestrator::Show(const std::string& id) {
  ASSIGN_OR_RETURN(std::shared_ptr<const WorkflowSnapshot> snap, workflows_.Snapshot());
  const WorkflowRecord* r = snap->Find(id);
  if (!r) return NotFound("no workflow \"" + id + "\"");
  WorkflowView view = Describe(*r, Nodes()).view;
  view.spec = r->spec;
  return view;
}

Result<WorkflowList> Orchestrator::List() {
  ASSIGN_OR_RETURN(std::shared_ptr<const WorkflowSnapshot> snap, workflows_.Snapshot());
  std::map<std::string, NodeView> nodes = Nodes();
  WorkflowList out;
  out.revision = snap->revision;
  for (const WorkflowRecord& r : snap->workflows) {
    Described d = Describe(r, nodes);
    out.workflows.push_back({r.id, r.name, std::move(d.view.state), std::move(d.view.reason),
                             r.spec.functions.size() + r.spec.resources.size(), r.placement.size(),
                             r.created_at});
  }
  return out;
}

Result<std::vector<std::string>> Orchestrator::WorkflowsUsing(const std::string& function) {
  ASSIGN_OR_RETURN(std::shared_ptr<const WorkflowSnapshot> snap, workflows_.Snapshot());
  std::vector<std::string> out;
  for (const WorkflowRecord& r : snap->workflows) {
    for (const FunctionSpec& f : r.spec.functions) {
      if (f.function == function) {
        out.push_back(r.id);
        break;
      }
    }
  }
  return out;
}

Status Orchestrator::Report(const std::string& node_id, std::vector<InstanceReport> instances) {
  if (!nodes_.Has(node_id)) return NotFound("node " + node_id + " is not registered");
  ASSIGN_OR_RETURN(std::shared_ptr<const WorkflowSnapshot> snap, workflows_.Snapshot());
  std::string at = NowRfc3339();
  std::lock_guard lock(status_mu_);
  for (InstanceReport& rep : instances) {
    const WorkflowRecord* r = snap->Find(rep.id.substr(0, rep.id.find('/')));
    if (!r || !r->placement.contains(rep.id)) continue;  // stale: that instance is gone
    std::string id = rep.id;
    statuses_[id] = Reported{node_id, std::move(rep), at};
  }
  return OkStatus();
}

Status Orchestrator::Reconcile() {
  std::lock_guard lock(reconcile_mu_);
  ASSIGN_OR_RETURN(ShaMap shas, CurrentVersions(functions_));
  ASSIGN_OR_RETURN(std::shared_ptr<const WorkflowSnapshot> snap, workflows_.Snapshot());
  std::vector<NodeStatus> node_list = nodes_.List();
  std::vector<PlacementNode> nodes = ToPlacementNodes(node_list);
  std::map<std::string, bool> up;
  for (const PlacementNode& n : nodes) up[n.id] = n.up;
  std::map<std::string, int64_t> counts = InstanceCounts(*snap, nodes);

  struct Move {
    std::string workflow, instance, from, to;
  };
  std::vector<Move> moves;
  std::map<std::string, std::pair<std::set<std::string>, std::vector<std::string>>> lost;
  for (const WorkflowRecord& r : snap->workflows) {
    std::map<std::string, std::string> current;
    for (const auto& [id, p] : r.placement) current[id] = p.node_id;
    PlacementResult res = Place(r.id, Demands(r.spec, shas), current, nodes, counts);
    WorkflowRecord next = r;
    next.placement = Materialize(r.spec, res, node_list, shas);
    next.reason = JoinReasons(res.reasons);
    if (next.placement == r.placement && next.reason == r.reason) continue;
    Status st = workflows_.Update(next);
    if (!st.ok()) {
      // Deleted or changed since the snapshot: the next pass sees it.
      if (st.code() != Code::kFailedPrecondition) return st;
      continue;
    }
    for (const auto& [id, p] : r.placement) {
      const std::string& to = next.placement[id].node_id;
      if (p.node_id.empty() || p.node_id == to) continue;
      moves.push_back({r.id, id, p.node_id, to});
      if (!up[p.node_id]) {
        auto& [workflows, instances] = lost[p.node_id];
        workflows.insert(r.id);
        instances.push_back(id);
      }
    }
    if (next.reason != r.reason && !next.reason.empty()) {
      LOG_WARN("workflow {} is pending: {}", r.id, next.reason);
      Record("workflow_pending", std::string(kControlSource),
             ToJson(json::object{{"workflow", r.id}, {"reason", next.reason}}));
    }
  }
  for (const auto& [node, what] : lost) {
    LOG_WARN("node {} lost {} workflow instance(s)", node, what.second.size());
    Record(
        "node_lost", std::string(kControlSource),
        ToJson(json::object{
            {"node_id", node},
            {"workflows", Strings(std::vector<std::string>(what.first.begin(), what.first.end()))},
            {"instances", Strings(what.second)}}));
  }
  for (const Move& m : moves) {
    Record(
        "instance_moved", std::string(kControlSource),
        ToJson(json::object{
            {"workflow", m.workflow}, {"instance", m.instance}, {"from", m.from}, {"to", m.to}}));
  }

  // Forget statuses of instances that no longer exist.
  ASSIGN_OR_RETURN(std::shared_ptr<const WorkflowSnapshot> now, workflows_.Snapshot());
  {
    std::lock_guard status_lock(status_mu_);
    for (auto it = statuses_.begin(); it != statuses_.end();) {
      const WorkflowRecord* r = now->Find(it->first.substr(0, it->first.find('/')));
      if (!r || !r->placement.contains(it->first)) {
        it = statuses_.erase(it);
      } else {
        ++it;
      }
    }
  }
  UpdateMetrics(*now);
  return OkStatus();
}

void Orchestrator::UpdateMetrics(const WorkflowSnapshot& snap) {
  std::map<std::string, NodeView> nodes = Nodes();
  std::map<std::string, int64_t> states{{"running", 0}, {"pending", 0}, {"degraded", 0}};
  int64_t placed = 0, unplaced = 0;
  for (const WorkflowRecord& r : snap.workflows) {
    Described d = Describe(r, nodes);
    ++states[d.view.state];
    placed += d.placed;
    unplaced += d.unplaced;
  }
  for (const auto& [state, n] : states) {
    workflows_gauge_.WithLabels({{"state", state}}).Set(static_cast<double>(n));
  }
  instances_gauge_.WithLabels({{"state", "placed"}}).Set(static_cast<double>(placed));
  instances_gauge_.WithLabels({{"state", "unplaced"}}).Set(static_cast<double>(unplaced));
}

}  // namespace aether::control
