#include "control/workflows/workflow_placer.h"

#include <boost/json.hpp>
#include <set>

#include "control/domains/domain_placer.h"
#include "protocol/node.h"

namespace aether::control {
namespace {

namespace json = boost::json;

using ShaMap = std::map<std::string, std::string>;  // function -> current sha256

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

}  // namespace

Result<PlacementInputs> ReadPlacementInputs(FunctionRegistry& functions, NodeRegistry& nodes,
                                            DomainRegistry* domains) {
  PlacementInputs in;
  ASSIGN_OR_RETURN(std::shared_ptr<const Manifest> m, functions.GetManifest());
  for (const FunctionInfo& f : m->functions) in.shas[f.name] = f.current.sha256;
  if (domains != nullptr) {
    in.by_domain = true;
    in.domains = domains->List();
    return in;
  }
  in.nodes = nodes.List();
  for (const NodeStatus& n : in.nodes) {
    // Odds for weighted-random: the workers the node registered with.
    json::object capacity = protocol::CapacityObject(n.reg.capacity);
    const json::value* workers = capacity.if_contains("workers");
    double weight = workers != nullptr && workers->is_int64() && workers->as_int64() > 0
                        ? static_cast<double>(workers->as_int64())
                        : 1.0;
    in.candidates.push_back({.id = n.reg.node_id,
                             .labels = n.reg.labels,
                             .up = n.up,
                             .load = n.load.inflight + n.load.queue,
                             .weight = weight,
                             .cordoned = n.scheduling == kSchedulingCordoned,
                             .draining = n.scheduling == kSchedulingDraining});
  }
  return in;
}

std::map<std::string, int64_t> PlacedPerNode(const WorkflowSnapshot& snap) {
  std::map<std::string, int64_t> counts;
  for (const WorkflowRecord& r : snap.workflows) {
    for (const auto& [id, p] : r.placement) {
      if (!p.node_id.empty()) ++counts[p.node_id];
    }
  }
  return counts;
}

std::map<std::string, int64_t> InstanceCounts(const WorkflowSnapshot& snap,
                                              const std::vector<PlacementNode>& candidates) {
  std::set<std::string> up;
  for (const PlacementNode& n : candidates) {
    if (n.up) up.insert(n.id);
  }
  std::map<std::string, int64_t> counts = PlacedPerNode(snap);
  std::erase_if(counts, [&](const auto& entry) { return !up.contains(entry.first); });
  return counts;
}

WorkflowPlacement PlaceWorkflow(const std::string& id, const WorkflowSpec& spec,
                                const std::map<std::string, std::string>& current,
                                const PlacementInputs& in,
                                std::map<std::string, int64_t>& instance_counts) {
  if (in.by_domain) {
    DomainPlacement mapped = MapWorkflow(id, spec, current, in.shas, in.domains);
    return {std::move(mapped.placement), std::move(mapped.reason)};
  }
  PlacementResult res =
      Place(id, Demands(spec, in.shas), current, in.candidates, instance_counts, in.state);
  return {Materialize(spec, res, in.nodes, in.shas), JoinReasons(res.reasons)};
}

std::string JoinReasons(const std::vector<std::string>& reasons) {
  std::string out;
  for (const std::string& r : reasons) out += (out.empty() ? "" : "; ") + r;
  return out;
}

}  // namespace aether::control
