// Placement of whole workflows against the registries: reads the deployed
// function versions and the nodes once per pass, turns a spec into
// placement.h's demands (a function that is not deployed blocks its
// component), and turns Place()'s answer into the placement the store keeps
// (node url, credential id and function sha256 per instance). The rules
// themselves are placement.h's.
//
// Thread-safety: PlacementInputs is a value; the functions are pure except
// ReadPlacementInputs, which reads the registries (any thread).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"
#include "control/domains/domain_registry.h"
#include "control/function_registry.h"
#include "control/node_registry.h"
#include "control/workflows/placement.h"
#include "control/workflows/workflow_store.h"

namespace aether::control {

// What one pass places against.
struct PlacementInputs {
  std::map<std::string, std::string> shas;  // deployed function -> current sha256
  std::vector<NodeStatus> nodes;            // as the node registry lists them
  std::vector<PlacementNode> candidates;    // the same nodes, as Place() takes them
  PlacementState* state = nullptr;          // the policy's (the caller's, under its lock)
  // A cluster controller's: components go to domains (domain_placer.h),
  // not to nodes.
  bool by_domain = false;
  std::vector<DomainStatus> domains;
};

// Store errors of the function registry. With `domains` (a cluster
// controller), the inputs are its domains.
Result<PlacementInputs> ReadPlacementInputs(FunctionRegistry& functions, NodeRegistry& nodes,
                                            DomainRegistry* domains = nullptr);

// Workflow instances per node they are placed on, over every workflow of
// `snap` (unplaced ones not counted).
std::map<std::string, int64_t> PlacedPerNode(const WorkflowSnapshot& snap);

// PlacedPerNode, of the up nodes among `candidates` only.
std::map<std::string, int64_t> InstanceCounts(const WorkflowSnapshot& snap,
                                              const std::vector<PlacementNode>& candidates);

struct WorkflowPlacement {
  std::map<std::string, PlacedInstance> placement;  // every instance id of the spec
  std::string reason;                               // "" when every instance is placed
};

// Places the instances of workflow `id` (Place(): `current` is instance ->
// node id, `instance_counts` is updated), or maps them onto domains
// (MapWorkflow) when `in.by_domain`.
WorkflowPlacement PlaceWorkflow(const std::string& id, const WorkflowSpec& spec,
                                const std::map<std::string, std::string>& current,
                                const PlacementInputs& in,
                                std::map<std::string, int64_t>& instance_counts);

// "a; b; c"
std::string JoinReasons(const std::vector<std::string>& reasons);

}  // namespace aether::control
