// A cluster controller's placement of whole workflows (docs/domains.md):
// every instance of a component goes to the domain domain_mapping.h maps
// the component to, and is stored like a node placement (the domain's id
// and url in PlacedInstance), so the orchestrator's storage, healing and
// views serve both levels. The domain's own control plane places those
// instances on its nodes.
//
// This version has no link between domains yet: a workflow whose mapping
// would put two components joined by an output mapping into different
// domains is left unmapped, with a reason that says how to keep it in one.
//
// Pure: any thread.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "control/domains/domain_mapping.h"
#include "control/domains/domain_registry.h"
#include "control/workflows/workflow_store.h"

namespace aether::control {

// The domains as the mapping takes them.
std::vector<MappingDomain> MappingDomainsOf(const std::vector<DomainStatus>& domains);

struct DomainPlacement {
  std::map<std::string, PlacedInstance> placement;  // every instance id of the spec
  std::string reason;                               // "" when every instance is mapped
};

// `current`: instance -> domain id as stored; `shas`: deployed function ->
// current sha256 (a function that is not deployed leaves its component
// unmapped).
DomainPlacement MapWorkflow(const std::string& id, const WorkflowSpec& spec,
                            const std::map<std::string, std::string>& current,
                            const std::map<std::string, std::string>& shas,
                            const std::vector<DomainStatus>& domains);

// The part of `spec` that runs in `domain` under `placement`: its
// components there, outputs to components elsewhere dropped, the domain
// annotations removed; nullopt when no component of it is there.
std::optional<WorkflowSpec> DomainPart(const WorkflowSpec& spec,
                                       const std::map<std::string, PlacedInstance>& placement,
                                       const std::string& workflow_id, const std::string& domain);

}  // namespace aether::control
