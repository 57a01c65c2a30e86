// Placement of a workflow's instances onto nodes (docs/workflow-protocol.md,
// "Placement"). A pure function of the spec, the current placement and the
// nodes, so the orchestrator's rules are testable without threads or a
// store.
//
// Rules:
//  * eligible nodes: up, id in node_id_match_any (empty = any), every label
//    of label_match_all present (and equal when it has a value);
//  * stable: an instance on an up, still-eligible node stays there;
//  * a cordoned node keeps what it has and takes nothing new; a draining
//    one takes nothing new either, and what it has moves to a node that
//    takes it (kept there while none does);
//  * the instances of one component go to distinct nodes while there are
//    enough eligible nodes, then share;
//  * among the candidates with the fewest instances of the component, the
//    policy chooses: least-loaded (the default) takes the fewest workflow
//    instances (over every workflow: `instance_counts`), then the lowest
//    load, then the node id; round-robin the next node id after the one it
//    chose last; weighted-random draws one with odds by `weight`;
//  * an instance nothing can take stays unplaced; the component's reason
//    names it and the unmet annotation:
//      functions "parse": no live node has label zone=eu
//
// Pure: any thread.
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "control/workflows/workflow_spec.h"

namespace aether::control {

struct PlacementNode {
  std::string id;
  std::map<std::string, std::string> labels;
  bool up = false;
  int64_t load = 0;       // in-flight + queued requests the node reported
  double weight = 1;      // weighted-random: the node's odds (its workers)
  bool cordoned = false;  // takes no new instances
  bool draining = false;  // takes none, keeps only what no other node takes
};

// One component as placement sees it (a function, or a resource: one instance).
struct PlacementDemand {
  std::string kind;  // "functions" or "resources": the spec's section, used in reasons
  std::string component;
  int instances = 1;
  std::vector<std::string> node_id_match_any;
  std::vector<LabelMatch> label_match_all;
  // Set when the component cannot run anywhere whatever the nodes (e.g. its
  // function is not deployed): every instance stays unplaced with it.
  std::string blocked;
};

enum class PlacementPolicy { kLeastLoaded, kRoundRobin, kWeightedRandom };
// "least-loaded", "round-robin", "weighted-random" ([workflow] placement);
// InvalidArgument otherwise.
Result<PlacementPolicy> ParsePlacementPolicy(std::string_view name);

// What a policy keeps from one placement to the next. Not thread-safe: the
// orchestrator holds it under its reconcile lock.
struct PlacementState {
  PlacementPolicy policy = PlacementPolicy::kLeastLoaded;
  std::string last;                // round-robin: the node chosen last
  std::mt19937_64* rng = nullptr;  // weighted-random (null: least-loaded instead)
};

// The demands of a spec, in spec order (functions, then resources).
std::vector<PlacementDemand> DemandsOf(const WorkflowSpec& spec);

struct PlacementResult {
  // Every instance of every demand: instance id -> node id ("" = unplaced).
  std::map<std::string, std::string> assignment;
  // Reasons of the components with unplaced instances, in demand order.
  std::vector<std::string> reasons;
  bool complete() const { return reasons.empty(); }
};

// Places the instances of workflow `workflow_id`. `current` is the present
// placement (instance -> node; missing or "" = unplaced). `instance_counts`
// (node -> workflow instances on it) must already count every instance of
// `current` and of other workflows; it is updated with the instances this
// call moves or places.
PlacementResult Place(const std::string& workflow_id, const std::vector<PlacementDemand>& demands,
                      const std::map<std::string, std::string>& current,
                      const std::vector<PlacementNode>& nodes,
                      std::map<std::string, int64_t>& instance_counts,
                      PlacementState* state = nullptr);

// Whether `node` satisfies the demand's annotations (liveness aside).
bool Eligible(const PlacementDemand& demand, const PlacementNode& node);

std::string LabelMatchText(const LabelMatch& m);  // "zone=eu" or "gpu"

}  // namespace aether::control
