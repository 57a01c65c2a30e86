// What a domain's agent (domain_agent.h) reads and changes in its own
// control plane: the capabilities it reports, and the functions and
// workflow parts it mirrors from its controller. An interface, so the
// agent's protocol is testable without a whole control plane.
//
// Thread-safety: the agent's thread calls it; implementations lock what
// they share.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "protocol/domain.h"
#include "protocol/instance_status.h"
#include "protocol/manifest.h"

namespace aether::control {

class EventLog;
class FunctionRegistry;
class NodeRegistry;
class Orchestrator;

class DomainLocal {
 public:
  virtual ~DomainLocal() = default;
  virtual protocol::DomainCapabilities Capabilities() = 0;
  // Makes the functions here what `manifest` (the controller's) lists:
  // each deployed whose version differs (`fetch` gets its module by
  // sha256, already checked against it), each no longer listed deleted.
  // The first error stops it (the next sync tries again).
  virtual Status MirrorFunctions(
      const protocol::Manifest& manifest,
      const std::function<Result<std::string>(const std::string& sha256)>& fetch) = 0;
  // Makes the workflows here the controller's parts (id -> spec JSON):
  // each put (created or replaced), each one here not listed deleted.
  virtual Status MirrorWorkflows(const std::map<std::string, std::string>& parts) = 0;
  // What this domain's engines report of those workflows' instances.
  virtual std::vector<protocol::InstanceStatus> Instances() = 0;
};

// The real control plane's (control_service.cc).
std::unique_ptr<DomainLocal> NewServiceDomainLocal(FunctionRegistry& functions, NodeRegistry& nodes,
                                                   Orchestrator& orchestrator);

}  // namespace aether::control
