#include "control/domains/domain_placer.h"

#include <fmt/format.h>

#include <optional>
#include <set>

#include "common/node_credential.h"
#include "common/resource_config.h"
#include "common/sha256.h"
#include "control/node_registry.h"
#include "control/workflows/placement.h"
#include "control/workflows/workflow_placer.h"
#include "protocol/ids.h"
#include "protocol/names.h"

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

// A component name for a generated portal, unique in the part: shortened
// to leave room for a number (FitName), and numbered while it is taken.
std::string PortalComponentName(const std::string& prefix, const std::string& target,
                                std::set<std::string>& taken) {
  std::string base = protocol::FitName(prefix + target, protocol::kMaxNameLength - 4);
  std::string name = base;
  for (int n = 2; taken.contains(name); ++n) name = base + "-" + std::to_string(n);
  taken.insert(name);
  return name;
}

std::string TrimSlash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
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
                                       const std::string& workflow_id, const std::string& domain,
                                       std::string_view portal_secret) {
  // Component -> where its instances run (the first mapped one's domain).
  std::map<std::string, const PlacedInstance*> where;
  for (const auto& [instance, p] : placement) {
    std::optional<protocol::InstanceIdParts> parts = protocol::ParseInstanceId(instance);
    if (!parts || p.node_id.empty() || parts->workflow != workflow_id) continue;
    where.try_emplace(std::string(parts->component), &p);
  }
  auto domain_of = [&](const std::string& c) -> std::string {
    auto it = where.find(c);
    return it == where.end() ? "" : it->second->node_id;
  };
  std::set<std::string> here;
  for (const auto& [component, p] : where) {
    if (p->node_id == domain) here.insert(component);
  }
  if (here.empty()) return std::nullopt;
  std::set<std::string> taken;
  for (const FunctionSpec& f : spec.functions) taken.insert(f.name);
  for (const ResourceSpec& r : spec.resources) taken.insert(r.name);

  WorkflowSpec part;
  part.name = spec.name;
  part.delivery = spec.delivery;
  part.annotations = spec.annotations;
  part.annotations.erase("domains");
  // Outputs to a component elsewhere go to a portal to its domain, one per
  // target component; outputs to an unmapped component are dropped.
  std::map<std::string, std::string> portal_to;  // target -> portal component here
  auto route_outputs = [&](std::map<std::string, std::string>& outputs) {
    for (auto it = outputs.begin(); it != outputs.end();) {
      const std::string& target = it->second;
      std::string there = domain_of(target);
      if (there == domain) {
        ++it;
      } else if (there.empty()) {
        it = outputs.erase(it);
      } else {
        auto [p, fresh] = portal_to.try_emplace(target);
        if (fresh) p->second = PortalComponentName("portal-", target, taken);
        it->second = p->second;
        ++it;
      }
    }
  };
  for (const FunctionSpec& f : spec.functions) {
    if (!here.contains(f.name)) continue;
    FunctionSpec copy = f;
    copy.domain_match_any.clear();
    route_outputs(copy.output_mapping);
    part.functions.push_back(std::move(copy));
  }
  // Components here that components in other domains send to.
  std::set<std::string> reached;
  auto note_reached = [&](const std::string& from, const std::map<std::string, std::string>& out) {
    std::string there = domain_of(from);
    if (there.empty() || there == domain) return;
    for (const auto& [output, target] : out) {
      if (here.contains(target)) reached.insert(target);
    }
  };
  for (const FunctionSpec& f : spec.functions) note_reached(f.name, f.output_mapping);
  for (const ResourceSpec& r : spec.resources) {
    note_reached(r.name, r.output_mapping);
    if (!here.contains(r.name)) continue;
    ResourceSpec copy = r;
    copy.domain_match_any.clear();
    route_outputs(copy.output_mapping);
    part.resources.push_back(std::move(copy));
  }
  for (const auto& [target, name] : portal_to) {
    const PlacedInstance* p = where.at(target);
    ResourceSpec portal;
    portal.name = name;
    portal.class_type = std::string(kPortalClass);
    portal.configurations = {{"url", fmt::format("{}/wf/{}/{}{}", TrimSlash(p->url), workflow_id,
                                                 kPortalPathPrefix, target)},
                             {"token", PortalToken(portal_secret, workflow_id, target)}};
    part.resources.push_back(std::move(portal));
  }
  for (const std::string& target : reached) {
    ResourceSpec ingress;
    ingress.name = PortalComponentName("portal-in-", target, taken);
    ingress.class_type = "http-ingress";
    ingress.configurations = {
        {"mode", "portal"},
        {"path", std::string(kPortalPathPrefix) + target},
        {"methods", "POST"},
        {"timeout_ms", "60000"},
        {"token_sha256", Sha256Hex(PortalToken(portal_secret, workflow_id, target))}};
    ingress.output_mapping = {{"portal", target}};
    part.resources.push_back(std::move(ingress));
  }
  return part;
}

}  // namespace aether::control
