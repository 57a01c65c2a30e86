#include "control/workflows/workflow_watch.h"

#include <set>
#include <string_view>

#include "common/json_util.h"
#include "control/workflows/placement.h"
#include "protocol/ids.h"

namespace aether::control {
namespace {

// Outputs named "@<component>" are the control plane's, not the user's.
constexpr std::string_view kSenderRoutePrefix = "@";

std::map<std::string, std::vector<protocol::OutputTarget>> Outputs(
    const WorkflowRecord& r, const std::map<std::string, std::string>& mapping,
    const std::map<std::string, int>& instances_of) {
  std::map<std::string, std::vector<protocol::OutputTarget>> out;
  for (const auto& [output, target] : mapping) {
    std::vector<protocol::OutputTarget>& targets = out[output];
    auto n = instances_of.find(target);
    for (int i = 0; n != instances_of.end() && i < n->second; ++i) {
      std::string id = protocol::InstanceId(r.id, target, i);
      auto p = r.placement.find(id);
      if (p == r.placement.end() || p->second.node_id.empty()) continue;
      targets.push_back({std::move(id), p->second.node_id, p->second.url});
    }
  }
  return out;
}

std::map<std::string, int> InstancesOf(const WorkflowRecord& r) {
  std::map<std::string, int> out;
  for (const FunctionSpec& f : r.spec.functions) out[f.name] = std::max(1, f.max_instances);
  for (const ResourceSpec& res : r.spec.resources) out[res.name] = 1;
  return out;
}

// The components of `r` (functions and resources) that map an output to
// each component: what the "@<sender>" routes back lead to
// (docs/workflow-protocol.md). A component that sends to itself is among
// its own senders.
std::map<std::string, std::set<std::string>> SendersByTarget(const WorkflowRecord& r) {
  std::map<std::string, std::set<std::string>> out;
  auto note = [&](const std::string& sender, const std::map<std::string, std::string>& mapping) {
    for (const auto& [output, target] : mapping) out[target].insert(sender);
  };
  for (const FunctionSpec& f : r.spec.functions) note(f.name, f.output_mapping);
  for (const ResourceSpec& res : r.spec.resources) note(res.name, res.output_mapping);
  return out;
}

// A function's outputs as the engine gets them: the spec's, and for every
// component that sends to it "@<sender>" -> sender, the route an EDGELESS
// function's cast_raw/call_raw back to its sender takes. Users cannot name
// an output "@..." (workflow_spec.cc), so no route hides one of theirs.
std::map<std::string, std::string> FunctionOutputsWithRoutesBack(
    const FunctionSpec& f, const std::map<std::string, std::set<std::string>>& senders_by_target) {
  std::map<std::string, std::string> out = f.output_mapping;
  auto senders = senders_by_target.find(f.name);
  if (senders == senders_by_target.end()) return out;
  for (const std::string& sender : senders->second) {
    out.insert_or_assign(std::string(kSenderRoutePrefix) + sender, sender);
  }
  return out;
}

// For every instance of `r` on another node than `node_id`: the instances
// on `node_id` it may send to, added to grants[its node]. That is where its
// outputs reach and, for a function, the components that send to it (its
// "@<sender>" routes back).
void AddGrants(const WorkflowRecord& r, const std::string& node_id,
               std::map<std::string, std::set<std::string>>& grants) {
  std::map<std::string, int> instances_of = InstancesOf(r);
  auto node_of = [&](const std::string& id) -> const std::string& {
    static const std::string kNone;
    auto p = r.placement.find(id);
    return p == r.placement.end() ? kNone : p->second.node_id;
  };
  // Every instance of `from_component` elsewhere may send to every instance
  // of `to_component` here.
  auto grant = [&](const std::string& from_component, const std::string& to_component) {
    for (int i = 0; i < instances_of[from_component]; ++i) {
      const std::string& from = node_of(protocol::InstanceId(r.id, from_component, i));
      if (from.empty() || from == node_id) continue;
      for (int j = 0; j < instances_of[to_component]; ++j) {
        std::string to = protocol::InstanceId(r.id, to_component, j);
        if (node_of(to) == node_id) grants[from].insert(std::move(to));
      }
    }
  };
  std::set<std::string> functions;
  for (const FunctionSpec& f : r.spec.functions) functions.insert(f.name);
  auto add = [&](const std::string& component, const std::map<std::string, std::string>& mapping) {
    for (const auto& [output, target] : mapping) {
      grant(component, target);
      // Only functions get routes back (resources answer no sender).
      if (functions.contains(target)) grant(target, component);
    }
  };
  for (const FunctionSpec& f : r.spec.functions) add(f.name, f.output_mapping);
  for (const ResourceSpec& res : r.spec.resources) add(res.name, res.output_mapping);
}

std::vector<protocol::PeerGrant> Peers(const WorkflowSnapshot& snap, const std::string& node_id,
                                       const PairDigestFn& pair_digest) {
  std::map<std::string, std::set<std::string>> grants;  // sender node -> instances here
  for (const WorkflowRecord& r : snap.workflows) AddGrants(r, node_id, grants);
  std::vector<protocol::PeerGrant> peers;
  for (const auto& [sender, targets] : grants) {
    std::optional<std::string> digest = pair_digest ? pair_digest(sender, node_id) : std::nullopt;
    if (!digest) continue;  // removed since: nothing of it is accepted
    peers.push_back({sender, std::move(*digest), {targets.begin(), targets.end()}});
  }
  return peers;
}

}  // namespace

protocol::Assignments NodeAssignments(const WorkflowSnapshot& snap, const std::string& node_id,
                                      const PairDigestFn& pair_digest) {
  protocol::Assignments out;
  out.revision = snap.revision;
  for (const WorkflowRecord& r : snap.workflows) {
    std::map<std::string, int> instances_of = InstancesOf(r);
    std::map<std::string, std::set<std::string>> senders_by_target = SendersByTarget(r);
    auto here = [&](const std::string& id) {
      auto p = r.placement.find(id);
      return p != r.placement.end() && p->second.node_id == node_id;
    };
    for (const FunctionSpec& f : r.spec.functions) {
      for (int i = 0; i < instances_of[f.name]; ++i) {
        std::string id = protocol::InstanceId(r.id, f.name, i);
        if (!here(id)) continue;
        protocol::InstanceAssignment a;
        a.kind = protocol::InstanceAssignment::Kind::kFunction;
        a.sha256 = r.placement.at(id).sha256;
        a.id = std::move(id);
        a.workflow = r.id;
        a.component = f.name;
        a.function = f.function;
        a.init_payload = f.init_payload;
        a.memory_limit = f.memory_limit;
        a.output_components = FunctionOutputsWithRoutesBack(f, senders_by_target);
        a.outputs = Outputs(r, a.output_components, instances_of);
        a.delivery = r.spec.delivery;
        a.incarnation = r.incarnation();
        out.instances.push_back(std::move(a));
      }
    }
    for (const ResourceSpec& res : r.spec.resources) {
      std::string id = protocol::InstanceId(r.id, res.name, 0);
      if (!here(id)) continue;
      protocol::InstanceAssignment a;
      a.kind = protocol::InstanceAssignment::Kind::kResource;
      a.id = std::move(id);
      a.workflow = r.id;
      a.component = res.name;
      a.class_type = res.class_type;
      a.configurations = res.configurations;
      a.outputs = Outputs(r, res.output_mapping, instances_of);
      a.output_components = res.output_mapping;
      a.delivery = r.spec.delivery;
      a.incarnation = r.incarnation();
      out.instances.push_back(std::move(a));
    }
  }
  if (snap.complete) {
    out.workflows.emplace();
    for (const WorkflowRecord& r : snap.workflows) (*out.workflows)[r.id] = r.incarnation();
  }
  out.peers = Peers(snap, node_id, pair_digest);
  return out;
}

std::string NodeAssignmentsJson(const WorkflowSnapshot& snap, const std::string& node_id,
                                const PairDigestFn& pair_digest) {
  return protocol::EncodeAssignments(NodeAssignments(snap, node_id, pair_digest));
}

WorkflowWatch::WorkflowWatch(Store& store, WorkflowStore& workflows, PairDigestFn pair_digest,
                             size_t max_waiters)
    : workflows_(workflows),
      pair_digest_(std::move(pair_digest)),
      poll_(store,
            LongPollHooks{[this] { return workflows_.Revision(); },
                          [this](const std::string& node_id, Responder& respond) {
                            Answer(node_id, respond);
                          },
                          {}},
            kMaxWorkflowsWait, max_waiters, "workflow") {}

WorkflowWatch::~WorkflowWatch() { Stop(); }

void WorkflowWatch::Start() { poll_.Start(); }

void WorkflowWatch::Stop() { poll_.Stop(); }

size_t WorkflowWatch::waiters() const { return poll_.waiters(); }

void WorkflowWatch::Answer(const std::string& node_id, Responder& respond) {
  Result<std::shared_ptr<const WorkflowSnapshot>> snap = workflows_.Snapshot();
  if (!snap.ok()) {
    respond(JsonError(snap.status()));
    return;
  }
  HttpResponse r;
  r.body = NodeAssignmentsJson(**snap, node_id, pair_digest_);
  r.headers.emplace_back("Cache-Control", "no-store");
  respond(std::move(r));
}

void WorkflowWatch::Wait(std::string node_id, std::optional<int64_t> since,
                         std::chrono::milliseconds wait, Responder respond) {
  poll_.Wait(std::move(node_id), since, wait, std::move(respond));
}

}  // namespace aether::control
