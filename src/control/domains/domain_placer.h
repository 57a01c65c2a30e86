// A cluster controller's placement of whole workflows (docs/domains.md):
// every instance of a component goes to the domain domain_mapping.h maps
// the component to, and is stored like a node placement (the domain's id
// and url in PlacedInstance), so the orchestrator's storage, healing and
// views serve both levels. The domain's own control plane places those
// instances on its nodes.
//
// Components joined by an output mapping may run in different domains: each
// domain's part then has a portal (a resource of class "portal") for every
// component elsewhere its components send to, and an http-ingress in portal
// mode for every component of its own that components elsewhere send to
// (docs/domains.md, "Links between domains").
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

// The path under /wf/{workflow}/ of the portal ingress of a component.
inline constexpr std::string_view kPortalPathPrefix = "_portal/";

// The part of `spec` that runs in `domain` under `placement`: its
// components there, the domain annotations removed; outputs to a component
// in another domain mapped to a portal to that domain (named "portal-" +
// the component), outputs to an unmapped component dropped; and a portal
// ingress ("portal-in-" + the component, path "_portal/" + the component)
// for each component here that a component elsewhere sends to. Generated
// names that would clash with the spec's are numbered. The tokens are
// PortalToken(portal_secret, ...) (common/node_credential.h). nullopt when
// no component of it is there.
std::optional<WorkflowSpec> DomainPart(const WorkflowSpec& spec,
                                       const std::map<std::string, PlacedInstance>& placement,
                                       const std::string& workflow_id, const std::string& domain,
                                       std::string_view portal_secret);

}  // namespace aether::control
