#include "control/domains/domain_placer.h"

#include <fmt/format.h>

#include <optional>
#include <set>

#include "control/node_registry.h"
#include "control/workflows/placement.h"
#include "control/workflows/workflow_placer.h"
#include "protocol/ids.h"

namespace aether::control {
namespace {

// Component -> domain, from the instances' stored domains (the first
// mapped instance of each component).
std::map<std::string, std::string> ComponentDomains(
    const std::map<std::string, std::string>& current) {
  std::map<std::string, std::string> out;
  for (const auto& [instance, domain] : current) {
    std::optional<protocol::InstanceIdParts> parts = protocol::ParseInstanceId(instance);
    if (!parts || domain.empty()) continue;
    out.try_emplace(std::string(parts->component), domain);
  }
  return out;
}

// The first output mapping that joins components mapped to two domains:
// "" when there is none.
std::string CrossDomainEdge(const WorkflowSpec& spec,
                            const std::map<std::string, std::string>& assignment) {
  auto check = [&](const std::string& from,
                   const std::map<std::string, std::string>& outputs) -> std::string {
    for (const auto& [output, to] : outputs) {
      const std::string& a = assignment.at(from);
      auto b = assignment.find(to);
      if (a.empty() || b == assignment.end() || b->second.empty() || a == b->second) continue;
      return fmt::format("\"{}\" (domain {}) sends {} to \"{}\" (domain {})", from, a, output, to,
                         b->second);
    }
    return "";
  };
  for (const FunctionSpec& f : spec.functions) {
    if (std::string e = check(f.name, f.output_mapping); !e.empty()) return e;
  }
  for (const ResourceSpec& r : spec.resources) {
    if (std::string e = check(r.name, r.output_mapping); !e.empty()) return e;
  }
  return "";
}

}  // namespace

std::vector<MappingDomain> MappingDomainsOf(const std::vector<DomainStatus>& domains) {
  std::vector<MappingDomain> out;
  out.reserve(domains.size());
  for (const DomainStatus& d : domains) {
    MappingDomain m;
    m.id = d.reg.domain_id;
    m.up = d.up && d.capabilities.health == "ok";
    m.cordoned = d.scheduling == kSchedulingCordoned;
    m.draining = d.scheduling == kSchedulingDraining;
    for (const protocol::DomainNode& n : d.capabilities.nodes)
      m.nodes.push_back({n.node_id, n.labels});
    m.resource_classes = d.capabilities.resource_classes;
    m.free_capacity = d.capabilities.free_workers;
    out.push_back(std::move(m));
  }
  return out;
}

DomainPlacement MapWorkflow(const std::string& id, const WorkflowSpec& spec,
                            const std::map<std::string, std::string>& current,
                            const std::map<std::string, std::string>& shas,
                            const std::vector<DomainStatus>& domains) {
  std::vector<std::string> reasons;
  // A function that is not deployed blocks its component: mapped nowhere.
  std::set<std::string> blocked;
  for (const FunctionSpec& f : spec.functions) {
    if (!shas.contains(f.function)) {
      blocked.insert(f.name);
      reasons.push_back("functions \"" + f.name + "\": function \"" + f.function +
                        "\" is not deployed");
    }
  }
  MappingResult mapped = MapToDomains(spec, ComponentDomains(current), MappingDomainsOf(domains));
  for (const std::string& c : blocked) mapped.assignment[c] = "";
  for (std::string& r : mapped.reasons) reasons.push_back(std::move(r));
  if (std::string edge = CrossDomainEdge(spec, mapped.assignment); !edge.empty()) {
    // No link between domains yet: the whole workflow waits rather than run
    // with an edge that delivers nowhere.
    for (auto& [component, domain] : mapped.assignment) domain.clear();
    reasons.push_back(fmt::format(
        "components would run in different domains ({}), and this version has no link between "
        "domains: pin them to one with domain_match_any, or set annotations.domains = "
        "\"together\"",
        edge));
  }
  std::map<std::string, const DomainStatus*> by_id;
  for (const DomainStatus& d : domains) by_id[d.reg.domain_id] = &d;
  std::map<std::string, std::string> function_of;
  for (const FunctionSpec& f : spec.functions) function_of[f.name] = f.function;
  DomainPlacement out;
  for (const PlacementDemand& d : DemandsOf(spec)) {
    const std::string& domain = mapped.assignment[d.component];
    for (int i = 0; i < d.instances; ++i) {
      PlacedInstance p;
      p.node_id = domain;
      if (auto it = by_id.find(domain); it != by_id.end()) p.url = it->second->reg.url;
      if (auto f = function_of.find(d.component); f != function_of.end() && !domain.empty()) {
        p.sha256 = shas.at(f->second);
      }
      out.placement[protocol::InstanceId(id, d.component, i)] = std::move(p);
    }
  }
  out.reason = JoinReasons(reasons);
  return out;
}

std::optional<WorkflowSpec> DomainPart(const WorkflowSpec& spec,
                                       const std::map<std::string, PlacedInstance>& placement,
                                       const std::string& workflow_id, const std::string& domain) {
  std::set<std::string> here;
  for (const auto& [instance, p] : placement) {
    std::optional<protocol::InstanceIdParts> parts = protocol::ParseInstanceId(instance);
    if (parts && p.node_id == domain && parts->workflow == workflow_id) {
      here.insert(std::string(parts->component));
    }
  }
  if (here.empty()) return std::nullopt;
  WorkflowSpec part;
  part.name = spec.name;
  part.delivery = spec.delivery;
  part.annotations = spec.annotations;
  part.annotations.erase("domains");
  auto keep_outputs = [&](std::map<std::string, std::string>& outputs) {
    std::erase_if(outputs, [&](const auto& o) { return !here.contains(o.second); });
  };
  for (const FunctionSpec& f : spec.functions) {
    if (!here.contains(f.name)) continue;
    FunctionSpec copy = f;
    copy.domain_match_any.clear();
    keep_outputs(copy.output_mapping);
    part.functions.push_back(std::move(copy));
  }
  for (const ResourceSpec& r : spec.resources) {
    if (!here.contains(r.name)) continue;
    ResourceSpec copy = r;
    copy.domain_match_any.clear();
    keep_outputs(copy.output_mapping);
    part.resources.push_back(std::move(copy));
  }
  return part;
}

}  // namespace aether::control
