#include "control/workflows/orchestrator.h"

#include <algorithm>
#include <boost/json.hpp>
#include <set>

#include "common/config.h"  // ServerlessClassLabel
#include "common/json_util.h"
#include "common/log.h"
#include "protocol/ids.h"

namespace aether::control {
namespace {

namespace json = boost::json;

constexpr std::string_view kControlSource = "control";

// The component of an instance id ("<workflow>/<component>/<index>").
std::string ComponentOf(const std::string& instance) {
  std::optional<protocol::InstanceIdParts> parts = protocol::ParseInstanceId(instance);
  return parts ? std::string(parts->component) : std::string();
}

// Whether a registered node (up or not: a down one may come back) offers
// serverless class `class_type`; for a cluster controller, a domain.
bool OffersClass(const PlacementInputs& in, const std::string& class_type) {
  if (in.by_domain) {
    return std::any_of(in.domains.begin(), in.domains.end(), [&](const DomainStatus& d) {
      const std::vector<std::string>& c = d.capabilities.resource_classes;
      return std::find(c.begin(), c.end(), class_type) != c.end();
    });
  }
  std::string label = ServerlessClassLabel(class_type);
  return std::any_of(in.candidates.begin(), in.candidates.end(),
                     [&](const PlacementNode& n) { return n.labels.contains(label); });
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
      reconcile_workflows_(options.leader != nullptr ? *options.leader : store),
      workflows_gauge_(metrics.AddGauge("aether_control_workflows", "Workflows by state")),
      instances_gauge_(metrics.AddGauge("aether_control_workflow_instances",
                                        "Workflow instances by placement (placed, unplaced)")),
      rng_(std::random_device{}()) {
  placement_state_.policy = options_.placement;
  placement_state_.rng = &rng_;
}

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

std::map<std::string, NodeLiveness> Orchestrator::Nodes() const {
  std::map<std::string, NodeLiveness> out;
  if (options_.domains != nullptr) {
    for (const DomainStatus& d : options_.domains->List()) out[d.reg.domain_id] = {d.reg.url, d.up};
    return out;
  }
  for (const NodeStatus& n : nodes_.List()) out[n.reg.node_id] = {n.reg.url, n.up};
  return out;
}

Result<PlacementInputs> Orchestrator::Inputs() {
  return ReadPlacementInputs(functions_, nodes_, options_.domains);
}

Result<WorkflowSpec> Orchestrator::ParseDeployed(std::string_view spec_json,
                                                 const PlacementInputs& in, bool portals,
                                                 std::vector<std::string>* warnings) {
  SpecCheckHooks hooks;
  hooks.warnings = warnings;
  hooks.function_exists = [&in](const std::string& name) { return in.shas.contains(name); };
  hooks.node_class_offered = [&in](const std::string& class_type) {
    return OffersClass(in, class_type);
  };
  hooks.portals = portals;
  return ParseWorkflowSpec(spec_json, hooks);
}

Result<WorkflowView> Orchestrator::Apply(std::string_view spec_json, const std::string& source,
                                         std::vector<std::string>* warnings) {
  if (spec_json.size() > kMaxWorkflowSpecBytes) {
    return ResourceExhausted("the workflow spec is larger than 1 MiB");
  }
  ASSIGN_OR_RETURN(PlacementInputs in, Inputs());
  ASSIGN_OR_RETURN(WorkflowSpec spec, ParseDeployed(spec_json, in, /*portals=*/false, warnings));

  std::lock_guard lock(reconcile_mu_);
  in.state = &placement_state_;
  ASSIGN_OR_RETURN(std::shared_ptr<const WorkflowSnapshot> snap, workflows_.Snapshot());
  WorkflowRecord rec;
  rec.name = spec.name;
  rec.created_at = NowRfc3339();
  rec.incarnated = true;
  rec.spec = std::move(spec);
  for (int attempt = 0;; ++attempt) {
    rec.id = rec.name.empty() ? NewId() : rec.name;
    std::map<std::string, int64_t> counts = InstanceCounts(*snap, in.candidates);
    WorkflowPlacement placed = PlaceWorkflow(rec.id, rec.spec, {}, in, counts);
    rec.placement = std::move(placed.placement);
    rec.reason = std::move(placed.reason);
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
  WorkflowView view = Describe(rec);
  view.spec = std::move(rec.spec);
  return view;
}

Status Orchestrator::Put(const std::string& id, std::string_view spec_json,
                         const std::string& source, bool* changed) {
  *changed = false;
  ASSIGN_OR_RETURN(PlacementInputs in, Inputs());
  // A controller's part: its links to other domains are portals.
  ASSIGN_OR_RETURN(WorkflowSpec spec, ParseDeployed(spec_json, in, /*portals=*/true));
  std::lock_guard lock(reconcile_mu_);
  in.state = &placement_state_;
  ASSIGN_OR_RETURN(std::shared_ptr<const WorkflowSnapshot> snap, workflows_.Snapshot());
  std::map<std::string, int64_t> counts = InstanceCounts(*snap, in.candidates);
  const WorkflowRecord* r = snap->Find(id);
  if (r != nullptr && r->spec == spec) return OkStatus();
  WorkflowRecord rec;
  std::map<std::string, std::string> current;
  if (r != nullptr) {
    rec = *r;
    // The instances that stay keep their nodes; Place() drops the others.
    for (const auto& [instance, p] : r->placement) current[instance] = p.node_id;
  } else {
    rec.id = id;
    rec.name = spec.name;
    rec.created_at = NowRfc3339();
    rec.incarnated = true;
  }
  rec.spec = std::move(spec);
  WorkflowPlacement placed = PlaceWorkflow(rec.id, rec.spec, current, in, counts);
  rec.placement = std::move(placed.placement);
  rec.reason = std::move(placed.reason);
  RETURN_IF_ERROR(r != nullptr ? workflows_.Update(rec) : workflows_.Create(rec));
  *changed = true;
  LOG_INFO("workflow {} {} from {} ({} instances)", rec.id, r ? "updated" : "applied", source,
           rec.placement.size());
  Record(r ? "workflow_updated" : "workflow_applied", source,
         ToJson(json::object{{"workflow", rec.id},
                             {"components", rec.spec.functions.size() + rec.spec.resources.size()},
                             {"instances", rec.placement.size()}}));
  return OkStatus();
}

Status Orchestrator::Delete(const std::string& id, const std::string& source) {
  {
    std::lock_guard lock(reconcile_mu_);
    RETURN_IF_ERROR(workflows_.Delete(id));
  }
  statuses_.ForgetWorkflow(id);
  LOG_INFO("workflow {} deleted", id);
  Record("workflow_deleted", source, ToJson(json::object{{"workflow", id}}));
  return OkStatus();
}

Result<WorkflowView> Orchestrator::Show(const std::string& id) {
  ASSIGN_OR_RETURN(std::shared_ptr<const WorkflowSnapshot> snap, workflows_.Snapshot());
  const WorkflowRecord* r = snap->Find(id);
  if (!r) return NotFound("no workflow \"" + id + "\"");
  WorkflowView view = Describe(*r);
  view.spec = r->spec;
  return view;
}

Result<WorkflowView> Orchestrator::Migrate(const std::string& id, const std::string& component,
                                           const std::string& node, const std::string& source,
                                           int* moved) {
  std::lock_guard lock(reconcile_mu_);
  ASSIGN_OR_RETURN(PlacementInputs in, Inputs());
  in.state = &placement_state_;
  ASSIGN_OR_RETURN(std::shared_ptr<const WorkflowSnapshot> snap, workflows_.Snapshot());
  const WorkflowRecord* r = snap->Find(id);
  if (!r) return NotFound("no workflow \"" + id + "\"");
  // A cluster controller moves components between domains, a domain's
  // control plane instances between nodes.
  const bool domains = options_.domains != nullptr;
  const std::string kind = domains ? "domain" : "node";
  bool found = false, up = false;
  std::string scheduling;
  if (domains) {
    if (std::optional<DomainStatus> d = options_.domains->Get(node)) {
      found = true;
      up = d->up;
      scheduling = d->scheduling;
    }
  } else {
    for (const NodeStatus& n : in.nodes) {
      if (n.reg.node_id != node) continue;
      found = true;
      up = n.up;
      scheduling = n.scheduling;
    }
  }
  if (!found) return NotFound("no " + kind + " " + node);
  if (!up) return FailedPrecondition(kind + " " + node + " is down");
  if (scheduling != kSchedulingActive) {
    return FailedPrecondition(kind + " " + node + " is " + scheduling + ": it takes no new " +
                              (domains ? "components" : "instances") + " (aether " + kind +
                              "s uncordon " + node + ")");
  }
  // The components to move, pinned to the node for this one placement.
  WorkflowSpec spec = r->spec;
  std::set<std::string> chosen;
  auto pin = [&](const std::string& name, std::vector<std::string>& ids) -> Status {
    if (!component.empty() && name != component) return OkStatus();
    if (!ids.empty() && std::find(ids.begin(), ids.end(), node) == ids.end()) {
      std::string list;
      for (const std::string& i : ids) list += (list.empty() ? "" : ", ") + i;
      return FailedPrecondition("component \"" + name + "\" may run only on " + list + " (its " +
                                kind + "_id_match_any), not on " + node);
    }
    ids = {node};
    chosen.insert(name);
    return OkStatus();
  };
  for (FunctionSpec& f : spec.functions) {
    RETURN_IF_ERROR(pin(f.name, domains ? f.domain_match_any : f.node_id_match_any));
  }
  for (ResourceSpec& res : spec.resources) {
    RETURN_IF_ERROR(pin(res.name, domains ? res.domain_match_any : res.node_id_match_any));
  }
  if (chosen.empty()) {
    return InvalidArgument("workflow \"" + id + "\" has no component \"" + component + "\"");
  }
  std::map<std::string, std::string> current;
  for (const auto& [instance, p] : r->placement) {
    current[instance] = chosen.contains(ComponentOf(instance)) ? "" : p.node_id;
  }
  std::map<std::string, int64_t> counts = InstanceCounts(*snap, in.candidates);
  WorkflowPlacement placed = PlaceWorkflow(r->id, spec, current, in, counts);
  for (const auto& [instance, p] : placed.placement) {
    if (chosen.contains(ComponentOf(instance)) && p.node_id != node) {
      return FailedPrecondition("component \"" + ComponentOf(instance) + "\" cannot run on " +
                                node + ": " + placed.reason);
    }
  }
  WorkflowRecord next = *r;
  next.placement = std::move(placed.placement);
  next.reason.clear();
  // The rest of the workflow keeps its placement; what could not be placed
  // before stays as it was, for the next pass to say.
  for (const auto& [instance, p] : r->placement) {
    if (!chosen.contains(ComponentOf(instance)) && p.node_id.empty()) {
      next.reason = r->reason;
    }
  }
  if (Status st = workflows_.Update(next); !st.ok()) {
    if (st.code() == Code::kFailedPrecondition) {
      return Unavailable("workflow \"" + id + "\" changed meanwhile; retry the migration");
    }
    return st;
  }
  *moved = 0;
  std::vector<Move> component_moves;
  for (const auto& [instance, p] : r->placement) {
    const std::string& to = next.placement[instance].node_id;
    if (p.node_id == to) continue;
    ++*moved;
    if (domains) {
      component_moves.push_back({id, instance, p.node_id, to});
      continue;
    }
    Record("instance_moved", source,
           ToJson(json::object{{"workflow", id},
                               {"instance", instance},
                               {"from", p.node_id},
                               {"to", to},
                               {"reason", "migrate"}}));
  }
  RecordComponentMoves(component_moves, source);
  LOG_INFO("workflow {}: {} instance(s) migrated to {}", id, *moved, node);
  WorkflowView view = Describe(next);
  view.spec = next.spec;
  return view;
}

Result<WorkflowList> Orchestrator::List() {
  ASSIGN_OR_RETURN(std::shared_ptr<const WorkflowSnapshot> snap, workflows_.Snapshot());
  std::map<std::string, NodeLiveness> nodes = Nodes();
  WorkflowList out;
  out.revision = snap->revision;
  for (const WorkflowRecord& r : snap->workflows) {
    InstanceStatuses::Described d = statuses_.Describe(r, nodes);
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
  if (options_.domains != nullptr ? !options_.domains->Get(node_id).has_value()
                                  : !nodes_.Has(node_id)) {
    return NotFound((options_.domains ? "domain " : "node ") + node_id + " is not registered");
  }
  ASSIGN_OR_RETURN(std::shared_ptr<const WorkflowSnapshot> snap, workflows_.Snapshot());
  statuses_.Report(node_id, *snap, std::move(instances), NowRfc3339());
  return OkStatus();
}

Status Orchestrator::Reconcile() {
  if (options_.leader != nullptr && !options_.leader->IsLeader()) return OkStatus();
  std::lock_guard lock(reconcile_mu_);
  ASSIGN_OR_RETURN(PlacementInputs in, Inputs());
  in.state = &placement_state_;
  ASSIGN_OR_RETURN(std::shared_ptr<const WorkflowSnapshot> snap, reconcile_workflows_.Snapshot());
  std::map<std::string, bool> up;
  for (const PlacementNode& n : in.candidates) up[n.id] = n.up;
  std::map<std::string, int64_t> counts = InstanceCounts(*snap, in.candidates);

  std::vector<Move> moves;
  std::map<std::string, std::pair<std::set<std::string>, std::vector<std::string>>> lost;
  for (const WorkflowRecord& r : snap->workflows) {
    std::map<std::string, std::string> current;
    for (const auto& [id, p] : r.placement) current[id] = p.node_id;
    WorkflowPlacement placed = PlaceWorkflow(r.id, r.spec, current, in, counts);
    WorkflowRecord next = r;
    next.placement = std::move(placed.placement);
    next.reason = std::move(placed.reason);
    if (next.placement == r.placement && next.reason == r.reason) continue;
    Status st = reconcile_workflows_.Update(next);
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
  if (options_.domains != nullptr) {
    RecordComponentMoves(moves, std::string(kControlSource));
    moves.clear();
    lost.clear();
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
  statuses_.Retain(*now);
  UpdateMetrics(*now);
  return OkStatus();
}

WorkflowView Orchestrator::Describe(const WorkflowRecord& r) const {
  // On a cluster controller an ingress url is its domain's control plane,
  // which forwards /wf/ to the engine that runs it.
  WorkflowView view = statuses_.Describe(r, Nodes()).view;
  if (options_.domains != nullptr) {
    // The placement's "node" is the domain; the node is the domain's to say.
    for (InstanceView& i : view.instances) {
      i.domain = std::move(i.node_id);
      i.node_id = i.reported_at.empty() ? "" : i.report.node_id;
    }
  }
  return view;
}

void Orchestrator::RecordComponentMoves(const std::vector<Move>& moves, const std::string& source) {
  std::set<std::pair<std::string, std::string>> seen;  // workflow, component
  for (const Move& m : moves) {
    std::string component = ComponentOf(m.instance);
    if (!seen.emplace(m.workflow, component).second) continue;
    LOG_INFO("workflow {}: component {} moved from domain {} to {}", m.workflow, component, m.from,
             m.to.empty() ? "(none)" : m.to);
    Record(
        "component_moved", source,
        ToJson(json::object{
            {"workflow", m.workflow}, {"component", component}, {"from", m.from}, {"to", m.to}}));
  }
}

void Orchestrator::UpdateMetrics(const WorkflowSnapshot& snap) {
  std::map<std::string, NodeLiveness> nodes = Nodes();
  std::map<std::string, int64_t> states{{"running", 0}, {"pending", 0}, {"degraded", 0}};
  int64_t placed = 0, unplaced = 0;
  for (const WorkflowRecord& r : snap.workflows) {
    InstanceStatuses::Described d = statuses_.Describe(r, nodes);
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
