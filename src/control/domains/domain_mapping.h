// The mapping of a workflow's components onto domains (docs/domains.md): a
// cluster controller (aether-control --role cluster) gives each component
// (function or resource) one domain, whose own control plane then places
// its instances on its nodes (placement.h). A pure function of the spec,
// the current mapping and the domains as their heartbeats describe them,
// so the rules are testable without threads or a store.
//
// Rules:
//  * a domain can host a component when it is in the component's
//    domain_match_any (empty = any), runs its class (resources), and one
//    single node of it is in node_id_match_any (empty = any) and has every
//    label of label_match_all (present, and equal when a value is given);
//  * a new mapping goes to a domain that is up, neither cordoned nor
//    draining, and can host the component;
//  * stable: a component stays in a domain that is up, not draining and
//    can host it, even a cordoned one; a draining domain's components move
//    to a domain that takes them, and stay while none does;
//  * spread (annotations.domains, the default): each component on its own,
//    to the domain holding most of its neighbours (the components it maps
//    outputs to, and those that map outputs to it), then the largest
//    free_capacity, then the smallest id; the components with the most
//    neighbours already mapped go first (then spec order), so that a chain
//    follows the part of it that stays;
//  * together: all components in one domain: the one they are all in while
//    it is up, not draining and hosts them all; else, of the domains taking
//    new components that can host every one, the one holding most of them
//    now, then the largest free_capacity, then the smallest id; with none,
//    every component is unmapped under one reason;
//  * an unmapped component's reason names it and the first requirement no
//    live domain meets:
//      functions "parse": no live domain has a node with label zone=eu
//
// Pure: any thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "control/workflows/workflow_spec.h"

namespace aether::control {

// One domain as the mapping sees it (from its heartbeats).
struct MappingDomain {
  std::string id;
  bool up = false;
  bool cordoned = false;  // takes no new components; keeps what it has
  bool draining = false;  // takes none; what it has moves to a domain that takes it
  // Its up nodes that take new instances: id and labels of each.
  struct Node {
    std::string id;
    std::map<std::string, std::string> labels;
  };
  std::vector<Node> nodes;
  std::vector<std::string> resource_classes;  // what its engines can run, e.g. "http-ingress"
  int64_t free_capacity = 0;  // free worker slots over its nodes (higher = preferred)
};

struct MappingResult {
  std::map<std::string, std::string> assignment;  // component name -> domain id ("" = unmapped)
  // One per unmapped component, spec order (functions, then resources); under
  // "together", one for the whole workflow.
  std::vector<std::string> reasons;
  bool complete() const { return reasons.empty(); }
};

// `current`: component -> domain as stored now (missing/"" = unmapped; a
// domain not in `domains` counts as gone). Every component of `spec` is in
// the result's assignment.
MappingResult MapToDomains(const WorkflowSpec& spec,
                           const std::map<std::string, std::string>& current,
                           const std::vector<MappingDomain>& domains);

// Whether `domain` can host `component` of `spec` (liveness and cordons
// aside): "" when it can, else why not, a fragment such as
// `no node has label zone=eu` or `does not run class http-ingress`.
std::string DomainUnfit(const WorkflowSpec& spec, const std::string& component,
                        const MappingDomain& domain);

}  // namespace aether::control
