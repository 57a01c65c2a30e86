#include "control/workflows/workflow_watch.h"

#include <set>

#include "common/json_util.h"
#include "control/workflows/placement.h"
#include "protocol/ids.h"

namespace aether::control {
namespace {

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

// For every instance of `r` on another node than `node_id`: the instances
// on `node_id` its outputs reach, added to grants[its node].
void AddGrants(const WorkflowRecord& r, const std::string& node_id,
               std::map<std::string, std::set<std::string>>& grants) {
  std::map<std::string, int> instances_of = InstancesOf(r);
  auto node_of = [&](const std::string& id) -> const std::string& {
    static const std::string kNone;
    auto p = r.placement.find(id);
    return p == r.placement.end() ? kNone : p->second.node_id;
  };
  auto add = [&](const std::string& component, const std::map<std::string, std::string>& mapping) {
    for (int i = 0; i < instances_of[component]; ++i) {
      const std::string& from = node_of(protocol::InstanceId(r.id, component, i));
      if (from.empty() || from == node_id) continue;
      for (const auto& [output, target] : mapping) {
        for (int j = 0; j < instances_of[target]; ++j) {
          std::string to = protocol::InstanceId(r.id, target, j);
          if (node_of(to) == node_id) grants[from].insert(std::move(to));
        }
      }
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
        a.outputs = Outputs(r, f.output_mapping, instances_of);
        a.output_components = f.output_mapping;
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
