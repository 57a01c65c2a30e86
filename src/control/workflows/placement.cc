#include "control/workflows/placement.h"

#include <algorithm>
#include <limits>
#include <set>
#include <tuple>

#include "protocol/ids.h"

namespace aether::control {
namespace {

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

bool IdMatches(const PlacementDemand& d, const PlacementNode& n) {
  if (d.node_id_match_any.empty()) return true;
  return std::find(d.node_id_match_any.begin(), d.node_id_match_any.end(), n.id) !=
         d.node_id_match_any.end();
}

bool HasLabel(const LabelMatch& m, const PlacementNode& n) {
  auto it = n.labels.find(m.key);
  return it != n.labels.end() && (!m.value || it->second == *m.value);
}

// Why no up node is eligible: the first annotation nothing satisfies.
std::string UnmetReason(const PlacementDemand& d, const std::vector<PlacementNode>& nodes) {
  std::string prefix = d.kind + " \"" + d.component + "\": ";
  if (!d.blocked.empty()) return prefix + d.blocked;
  std::vector<const PlacementNode*> up;
  for (const PlacementNode& n : nodes) {
    if (n.up) up.push_back(&n);
  }
  if (up.empty()) return prefix + "no live node";
  std::vector<const PlacementNode*> by_id;
  for (const PlacementNode* n : up) {
    if (IdMatches(d, *n)) by_id.push_back(n);
  }
  if (by_id.empty()) {
    return prefix + "no live node matches node_id_match_any (" + Join(d.node_id_match_any) + ")";
  }
  std::vector<std::string> labels;
  for (const LabelMatch& m : d.label_match_all) {
    labels.push_back(LabelMatchText(m));
    bool any = std::any_of(by_id.begin(), by_id.end(),
                           [&](const PlacementNode* n) { return HasLabel(m, *n); });
    if (!any) return prefix + "no live node has label " + LabelMatchText(m);
  }
  std::vector<std::string> closed;
  for (const PlacementNode* n : by_id) {
    bool matches = std::all_of(d.label_match_all.begin(), d.label_match_all.end(),
                               [&](const LabelMatch& m) { return HasLabel(m, *n); });
    if (matches && (n->cordoned || n->draining)) {
      closed.push_back(n->id + (n->draining ? " (draining)" : " (cordoned)"));
    }
  }
  if (!closed.empty()) {
    return prefix + "every live node it may run on takes no new instances: " + Join(closed) +
           " (aether nodes uncordon NODE)";
  }
  return prefix + "no live node has all the labels " + Join(labels);
}

// Among `tier` (in node id order), as the policy says; null when empty.
const PlacementNode* Choose(const std::vector<const PlacementNode*>& tier,
                            std::map<std::string, int64_t>& instance_counts,
                            PlacementState* state) {
  if (tier.empty()) return nullptr;
  PlacementPolicy policy = state != nullptr ? state->policy : PlacementPolicy::kLeastLoaded;
  if (policy == PlacementPolicy::kRoundRobin) {
    const PlacementNode* next = tier.front();
    for (const PlacementNode* n : tier) {
      if (n->id > state->last) {
        next = n;
        break;
      }
    }
    state->last = next->id;
    return next;
  }
  if (policy == PlacementPolicy::kWeightedRandom && state->rng != nullptr) {
    double total = 0;
    for (const PlacementNode* n : tier) total += std::max(n->weight, 0.0);
    if (total > 0) {
      double x = std::uniform_real_distribution<double>(0, total)(*state->rng);
      for (const PlacementNode* n : tier) {
        x -= std::max(n->weight, 0.0);
        if (x < 0) return n;
      }
    }
    return tier.back();
  }
  const PlacementNode* best = nullptr;
  auto key = [&](const PlacementNode* n) {
    return std::make_tuple(instance_counts[n->id], n->load, n->id);
  };
  for (const PlacementNode* n : tier) {
    if (!best || key(n) < key(best)) best = n;
  }
  return best;
}

}  // namespace

Result<PlacementPolicy> ParsePlacementPolicy(std::string_view name) {
  if (name == "least-loaded") return PlacementPolicy::kLeastLoaded;
  if (name == "round-robin") return PlacementPolicy::kRoundRobin;
  if (name == "weighted-random") return PlacementPolicy::kWeightedRandom;
  return InvalidArgument(
      "placement policy must be least-loaded, round-robin or weighted-random, "
      "not \"" +
      std::string(name.substr(0, 64)) + "\"");
}

std::string LabelMatchText(const LabelMatch& m) { return m.value ? m.key + "=" + *m.value : m.key; }

bool Eligible(const PlacementDemand& d, const PlacementNode& n) {
  if (!d.blocked.empty() || !IdMatches(d, n)) return false;
  return std::all_of(d.label_match_all.begin(), d.label_match_all.end(),
                     [&](const LabelMatch& m) { return HasLabel(m, n); });
}

std::vector<PlacementDemand> DemandsOf(const WorkflowSpec& spec) {
  std::vector<PlacementDemand> out;
  for (const FunctionSpec& f : spec.functions) {
    out.push_back({"functions", f.name, std::max(1, f.max_instances), f.node_id_match_any,
                   f.label_match_all, ""});
  }
  for (const ResourceSpec& r : spec.resources) {
    out.push_back({"resources", r.name, 1, r.node_id_match_any, r.label_match_all, ""});
  }
  return out;
}

PlacementResult Place(const std::string& workflow_id, const std::vector<PlacementDemand>& demands,
                      const std::map<std::string, std::string>& current,
                      const std::vector<PlacementNode>& nodes,
                      std::map<std::string, int64_t>& instance_counts, PlacementState* state) {
  PlacementResult result;
  for (const PlacementDemand& d : demands) {
    // May keep what it has / may take a new one.
    std::vector<const PlacementNode*> keeps, eligible;
    for (const PlacementNode& n : nodes) {
      if (!n.up || !Eligible(d, n)) continue;
      keeps.push_back(&n);
      if (!n.cordoned && !n.draining) eligible.push_back(&n);
    }
    // First pass: keep what may stay, release what may not.
    std::vector<std::string> ids;
    std::map<std::string, int> used;  // node -> instances of this component on it
    std::vector<std::string> to_place;
    for (int i = 0; i < d.instances; ++i) {
      std::string id = protocol::InstanceId(workflow_id, d.component, i);
      ids.push_back(id);
      auto cur = current.find(id);
      std::string node = cur == current.end() ? "" : cur->second;
      auto at = std::find_if(keeps.begin(), keeps.end(),
                             [&](const PlacementNode* n) { return n->id == node; });
      // A draining node lets go of an instance only for a node that takes
      // it: a drain never leaves an instance with nowhere to run.
      bool stays = at != keeps.end() && !((*at)->draining && !eligible.empty());
      if (stays) {
        result.assignment[id] = node;
        ++used[node];
        continue;
      }
      if (!node.empty()) {
        auto c = instance_counts.find(node);
        if (c != instance_counts.end() && c->second > 0) --c->second;
      }
      to_place.push_back(id);
    }
    // Second pass: each instance to a candidate of the fewest instances of
    // this component (distinct nodes first), as the policy chooses.
    for (const std::string& id : to_place) {
      int fewest = std::numeric_limits<int>::max();
      for (const PlacementNode* n : eligible) fewest = std::min(fewest, used[n->id]);
      std::vector<const PlacementNode*> tier;
      for (const PlacementNode* n : eligible) {
        if (used[n->id] == fewest) tier.push_back(n);
      }
      const PlacementNode* best = Choose(tier, instance_counts, state);
      if (!best) {
        result.assignment[id] = "";
        continue;
      }
      result.assignment[id] = best->id;
      ++used[best->id];
      ++instance_counts[best->id];
    }
    if (eligible.empty() && !to_place.empty()) result.reasons.push_back(UnmetReason(d, nodes));
  }
  return result;
}

}  // namespace aether::control
