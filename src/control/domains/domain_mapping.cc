#include "control/domains/domain_mapping.h"

#include <algorithm>
#include <functional>
#include <set>

#include "control/workflows/placement.h"

namespace aether::control {
namespace {

// A component as the mapping sees it: pointers into the spec (so copies are
// cheap and stay valid while the spec lives).
struct Component {
  const char* kind;  // "functions" or "resources": the spec's section, used in reasons
  const std::string* name;
  const std::vector<std::string>* domain_match_any;
  const std::vector<std::string>* node_id_match_any;
  const std::vector<LabelMatch>* label_match_all;
  const std::string* class_type;  // null for a function
  const std::map<std::string, std::string>* output_mapping;
  std::string Prefix() const { return std::string(kind) + " \"" + *name + "\": "; }
};

std::vector<Component> ComponentsOf(const WorkflowSpec& spec) {
  std::vector<Component> out;
  for (const FunctionSpec& f : spec.functions) {
    out.push_back({"functions", &f.name, &f.domain_match_any, &f.node_id_match_any,
                   &f.label_match_all, nullptr, &f.output_mapping});
  }
  for (const ResourceSpec& r : spec.resources) {
    out.push_back({"resources", &r.name, &r.domain_match_any, &r.node_id_match_any,
                   &r.label_match_all, &r.class_type, &r.output_mapping});
  }
  return out;
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

bool HasLabel(const LabelMatch& m, const MappingDomain::Node& n) {
  auto it = n.labels.find(m.key);
  return it != n.labels.end() && (!m.value || it->second == *m.value);
}

// One requirement of a component: whether a domain meets it, why one does
// not (DomainUnfit) and why no live domain does (the unmapped reason).
struct Requirement {
  std::function<bool(const MappingDomain&)> met;
  std::string unfit;
  std::string none;
};

// In the order reasons name them: the first one no live domain meets.
std::vector<Requirement> RequirementsOf(const Component& c) {
  std::vector<Requirement> out;
  if (!c.domain_match_any->empty()) {
    std::string list = "domain_match_any [" + Join(*c.domain_match_any) + "]";
    out.push_back({[c](const MappingDomain& d) { return Contains(*c.domain_match_any, d.id); },
                   "not in " + list, list + ": no such domain is up"});
  }
  if (c.class_type != nullptr) {
    out.push_back(
        {[c](const MappingDomain& d) { return Contains(d.resource_classes, *c.class_type); },
         "does not run class " + *c.class_type, "no live domain runs class " + *c.class_type});
  }
  out.push_back({[](const MappingDomain& d) { return !d.nodes.empty(); },
                 "has no node that takes new instances",
                 "no live domain has a node that takes new instances"});
  // Labels are matched on the nodes node_id_match_any allows: one node
  // must meet both.
  auto id_ok = [c](const MappingDomain::Node& n) {
    return c.node_id_match_any->empty() || Contains(*c.node_id_match_any, n.id);
  };
  std::string among;  // which nodes the label requirements speak of
  if (!c.node_id_match_any->empty()) {
    std::string list = "node_id_match_any [" + Join(*c.node_id_match_any) + "]";
    among = " in " + list;
    out.push_back({[id_ok](const MappingDomain& d) {
                     return std::any_of(d.nodes.begin(), d.nodes.end(), id_ok);
                   },
                   "has no node in " + list, "no live domain has a node in " + list});
  }
  std::vector<std::string> texts;
  for (const LabelMatch& m : *c.label_match_all) {
    std::string text = LabelMatchText(m);
    texts.push_back(text);
    std::string unfit = "no node" + among;
    unfit.append(" has label ").append(text);
    std::string none = "no live domain has a node" + among;
    none.append(" with label ").append(text);
    out.push_back({[id_ok, &m](const MappingDomain& d) {
                     return std::any_of(d.nodes.begin(), d.nodes.end(),
                                        [&](const auto& n) { return id_ok(n) && HasLabel(m, n); });
                   },
                   std::move(unfit), std::move(none)});
  }
  if (c.label_match_all->size() > 1) {
    std::string all = Join(texts);
    out.push_back({[id_ok, c](const MappingDomain& d) {
                     return std::any_of(d.nodes.begin(), d.nodes.end(), [&](const auto& n) {
                       return id_ok(n) &&
                              std::all_of(c.label_match_all->begin(), c.label_match_all->end(),
                                          [&](const auto& m) { return HasLabel(m, n); });
                     });
                   },
                   "no node" + among + " has all the labels " + all,
                   "no live domain has a node" + among + " with all the labels " + all});
  }
  return out;
}

std::string Unfit(const std::vector<Requirement>& reqs, const MappingDomain& d) {
  for (const Requirement& r : reqs) {
    if (!r.met(d)) return r.unfit;
  }
  return "";
}

bool TakesNew(const MappingDomain& d) { return d.up && !d.cordoned && !d.draining; }

// Whether domain `a` comes before `b`: more of the components that count
// (neighbours, or the workflow's), then more free capacity, then the id.
bool Better(int64_t a_count, const MappingDomain& a, int64_t b_count, const MappingDomain& b) {
  if (a_count != b_count) return a_count > b_count;
  if (a.free_capacity != b.free_capacity) return a.free_capacity > b.free_capacity;
  return a.id < b.id;
}

std::string Closed(const std::vector<const MappingDomain*>& domains) {
  std::vector<std::string> closed;
  closed.reserve(domains.size());
  for (const MappingDomain* d : domains) {
    closed.push_back(d->id + (d->draining ? " (draining)" : " (cordoned)"));
  }
  return Join(closed);
}

// "<first>; <second>; ...; and N more": a reason stays one readable line.
std::string FirstFew(const std::vector<std::string>& items) {
  constexpr size_t kListed = 4;
  std::string out;
  for (size_t i = 0; i < items.size() && i < kListed; ++i) out += (i == 0 ? "" : "; ") + items[i];
  if (items.size() > kListed) out += "; and " + std::to_string(items.size() - kListed) + " more";
  return out;
}

std::vector<const MappingDomain*> LiveById(const std::vector<MappingDomain>& domains) {
  std::vector<const MappingDomain*> live;
  for (const MappingDomain& d : domains) {
    if (d.up) live.push_back(&d);
  }
  std::stable_sort(live.begin(), live.end(),
                   [](const MappingDomain* a, const MappingDomain* b) { return a->id < b->id; });
  return live;
}

// Why no live domain takes `c`: the first requirement no live domain meets;
// else, when each fails a different one, what each lacks; else that those
// which can host it take nothing new.
std::string UnmetReason(const Component& c, const std::vector<Requirement>& reqs,
                        const std::vector<MappingDomain>& domains) {
  std::vector<const MappingDomain*> live = LiveById(domains);
  if (live.empty()) return c.Prefix() + "no live domain";
  for (const Requirement& r : reqs) {
    if (std::none_of(live.begin(), live.end(), [&](const MappingDomain* d) { return r.met(*d); }))
      return c.Prefix() + r.none;
  }
  std::vector<const MappingDomain*> hosts;
  std::vector<std::string> lacks;
  for (const MappingDomain* d : live) {
    // Domains outside domain_match_any are the user's choice, not news.
    if (!c.domain_match_any->empty() && !Contains(*c.domain_match_any, d->id)) continue;
    std::string unfit = Unfit(reqs, *d);
    if (unfit.empty()) {
      hosts.push_back(d);
    } else {
      lacks.push_back(d->id + ": " + unfit);
    }
  }
  if (!hosts.empty()) {
    return c.Prefix() +
           "every live domain that can host it takes no new components: " + Closed(hosts);
  }
  return c.Prefix() + "no live domain meets every requirement: " + FirstFew(lacks);
}

// What both modes share: the components, their requirements, and which
// domain can host which component.
struct Problem {
  std::vector<Component> components;
  std::vector<std::vector<Requirement>> requirements;  // per component
  std::vector<std::vector<char>> hosts;                // [component][domain]
  std::map<std::string, size_t> domain_index;          // id -> first domain of that id
};

Problem ProblemOf(const WorkflowSpec& spec, const std::vector<MappingDomain>& domains) {
  Problem p;
  p.components = ComponentsOf(spec);
  for (const Component& c : p.components) {
    p.requirements.push_back(RequirementsOf(c));
    std::vector<char> row;
    row.reserve(domains.size());
    for (const MappingDomain& d : domains) row.push_back(Unfit(p.requirements.back(), d).empty());
    p.hosts.push_back(std::move(row));
  }
  for (size_t i = 0; i < domains.size(); ++i) p.domain_index.emplace(domains[i].id, i);
  return p;
}

// The index of the domain `name` is mapped to now; npos when none or gone.
size_t CurrentOf(const Problem& p, const std::map<std::string, std::string>& current,
                 const std::string& name) {
  auto cur = current.find(name);
  if (cur == current.end() || cur->second.empty()) return std::string::npos;
  auto it = p.domain_index.find(cur->second);
  return it == p.domain_index.end() ? std::string::npos : it->second;
}

MappingResult Spread(const Problem& p, const std::map<std::string, std::string>& current,
                     const std::vector<MappingDomain>& domains) {
  MappingResult result;
  std::map<std::string, std::set<std::string>> neighbours;
  for (const Component& c : p.components) {
    for (const auto& [out, target] : *c.output_mapping) {
      if (target == *c.name) continue;
      neighbours[*c.name].insert(target);
      neighbours[target].insert(*c.name);
    }
  }
  auto eligible = [&](size_t ci) {
    std::vector<size_t> out;
    for (size_t di = 0; di < domains.size(); ++di) {
      if (TakesNew(domains[di]) && p.hosts[ci][di]) out.push_back(di);
    }
    return out;
  };
  // First pass: what may stay stays, so that the others see it as a neighbour.
  std::vector<size_t> to_map;
  for (size_t ci = 0; ci < p.components.size(); ++ci) {
    const std::string& name = *p.components[ci].name;
    size_t di = CurrentOf(p, current, name);
    // A draining domain lets go of a component only for a domain that
    // takes it: a drain never leaves a component with nowhere to run.
    bool stays = di != std::string::npos && domains[di].up && p.hosts[ci][di] &&
                 (!domains[di].draining || eligible(ci).empty());
    result.assignment[name] = stays ? domains[di].id : "";
    if (!stays) to_map.push_back(ci);
  }
  // How many of its neighbours are mapped to `domain` ("" = anywhere).
  auto near_count = [&](const std::string& name, const std::string& domain) {
    const std::set<std::string>& near = neighbours[name];
    return static_cast<int64_t>(std::count_if(near.begin(), near.end(), [&](const auto& n) {
      auto it = result.assignment.find(n);
      return it != result.assignment.end() && !it->second.empty() &&
             (domain.empty() || it->second == domain);
    }));
  };
  // Second pass: the component with the most neighbours mapped first (then
  // spec order), so that a chain follows the part of it that stays; each
  // to the domain with the most of its neighbours, then the largest free
  // capacity, then the smallest id.
  std::map<size_t, std::string> unmet;  // component -> reason, for spec order
  while (!to_map.empty()) {
    auto next = std::max_element(to_map.begin(), to_map.end(), [&](size_t a, size_t b) {
      int64_t na = near_count(*p.components[a].name, "");
      int64_t nb = near_count(*p.components[b].name, "");
      return na != nb ? na < nb : a > b;
    });
    size_t ci = *next;
    to_map.erase(next);
    const Component& c = p.components[ci];
    std::vector<size_t> candidates = eligible(ci);
    if (candidates.empty()) {
      unmet[ci] = UnmetReason(c, p.requirements[ci], domains);
      continue;
    }
    std::vector<int64_t> counts(domains.size());
    for (size_t di : candidates) counts[di] = near_count(*c.name, domains[di].id);
    size_t best = *std::min_element(candidates.begin(), candidates.end(), [&](size_t a, size_t b) {
      return Better(counts[a], domains[a], counts[b], domains[b]);
    });
    result.assignment[*c.name] = domains[best].id;
  }
  for (auto& [ci, reason] : unmet) result.reasons.push_back(std::move(reason));
  return result;
}

constexpr std::string_view kTogether = "(annotations.domains = together)";

// Why no domain takes every component of a together workflow.
std::string TogetherReason(const Problem& p, const std::vector<MappingDomain>& domains) {
  std::vector<size_t> live;
  for (size_t di = 0; di < domains.size(); ++di) {
    if (domains[di].up) live.push_back(di);
  }
  if (live.empty()) return "no live domain " + std::string(kTogether);
  std::string prefix = "no live domain can host every component " + std::string(kTogether) + ": ";
  // A component no live domain can host is the whole story.
  for (size_t ci = 0; ci < p.components.size(); ++ci) {
    if (std::none_of(live.begin(), live.end(), [&](size_t di) { return p.hosts[ci][di]; })) {
      return prefix + UnmetReason(p.components[ci], p.requirements[ci], domains);
    }
  }
  std::vector<const MappingDomain*> closed;
  for (size_t di : live) {
    bool all = std::all_of(p.hosts.begin(), p.hosts.end(),
                           [&](const std::vector<char>& row) { return row[di] != 0; });
    if (all) closed.push_back(&domains[di]);
  }
  if (!closed.empty()) {
    return "every live domain that can host every component takes no new components " +
           std::string(kTogether) + ": " + Closed(closed);
  }
  // Each can host some: name, per domain, the first component it cannot.
  std::stable_sort(live.begin(), live.end(),
                   [&](size_t a, size_t b) { return domains[a].id < domains[b].id; });
  std::vector<std::string> why;
  for (size_t di : live) {
    for (size_t ci = 0; ci < p.components.size(); ++ci) {
      if (p.hosts[ci][di]) continue;
      const Component& c = p.components[ci];
      why.push_back(domains[di].id + " cannot host " + c.kind + " \"" + *c.name + "\" (" +
                    Unfit(p.requirements[ci], domains[di]) + ")");
      break;
    }
  }
  return prefix + FirstFew(why);
}

MappingResult Together(const Problem& p, const std::map<std::string, std::string>& current,
                       const std::vector<MappingDomain>& domains) {
  MappingResult result;
  auto hosts_all = [&](size_t di) {
    return std::all_of(p.hosts.begin(), p.hosts.end(),
                       [&](const std::vector<char>& row) { return row[di] != 0; });
  };
  std::vector<size_t> candidates;
  for (size_t di = 0; di < domains.size(); ++di) {
    if (TakesNew(domains[di]) && hosts_all(di)) candidates.push_back(di);
  }
  // Where the mapped components are now, if they are all in one domain;
  // whether some (new ones) are not mapped yet.
  size_t now = std::string::npos;
  bool split = false, unmapped = false;
  std::map<size_t, int64_t> held;  // domain -> components mapped to it now
  for (const Component& c : p.components) {
    size_t di = CurrentOf(p, current, *c.name);
    if (di == std::string::npos) {
      unmapped = true;
      continue;
    }
    ++held[di];
    if (now != std::string::npos && di != now) split = true;
    now = di;
  }
  if (split) now = std::string::npos;
  size_t chosen = std::string::npos;
  // It stays (a cordoned domain keeps what it has; a draining one until
  // another takes them all). New components make a cordoned domain give
  // way to one that takes them all, if there is one.
  if (now != std::string::npos && domains[now].up && hosts_all(now) &&
      (!domains[now].draining || candidates.empty()) &&
      (!unmapped || TakesNew(domains[now]) || candidates.empty())) {
    chosen = now;
  } else if (!candidates.empty()) {
    chosen = *std::min_element(candidates.begin(), candidates.end(), [&](size_t a, size_t b) {
      return Better(held[a], domains[a], held[b], domains[b]);
    });
  }
  // Kept in a domain that takes nothing new: the new components wait there
  // while the others run on.
  bool closed = chosen != std::string::npos && chosen == now && !TakesNew(domains[chosen]);
  for (const Component& c : p.components) {
    bool waits = closed && CurrentOf(p, current, *c.name) == std::string::npos;
    result.assignment[*c.name] = chosen == std::string::npos || waits ? "" : domains[chosen].id;
    if (waits) {
      result.reasons.push_back(
          std::string(c.kind) + " \"" + *c.name + "\": the workflow's domain " +
          domains[chosen].id + " is " + (domains[chosen].draining ? "draining" : "cordoned") +
          " and takes no new components, and no other can host them all " + std::string(kTogether));
    }
  }
  if (chosen == std::string::npos && !p.components.empty()) {
    result.reasons.push_back(TogetherReason(p, domains));
  }
  return result;
}

}  // namespace

MappingResult MapToDomains(const WorkflowSpec& spec,
                           const std::map<std::string, std::string>& current,
                           const std::vector<MappingDomain>& domains) {
  Problem p = ProblemOf(spec, domains);
  return spec.domains == DomainAffinity::kTogether ? Together(p, current, domains)
                                                   : Spread(p, current, domains);
}

std::string DomainUnfit(const WorkflowSpec& spec, const std::string& component,
                        const MappingDomain& domain) {
  for (const Component& c : ComponentsOf(spec)) {
    if (*c.name == component) return Unfit(RequirementsOf(c), domain);
  }
  return "no component \"" + component + "\" in the workflow";
}

}  // namespace aether::control
