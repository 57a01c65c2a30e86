#include "control/workflows/workflow_watch.h"

#include <boost/json.hpp>
#include <set>

#include "common/json_util.h"
#include "control/workflows/placement.h"
#include "protocol/ids.h"

namespace aether::control {
namespace {

namespace json = boost::json;

json::object Outputs(const WorkflowRecord& r, const std::map<std::string, std::string>& mapping,
                     const std::map<std::string, int>& instances_of) {
  json::object out;
  for (const auto& [output, target] : mapping) {
    json::array targets;
    auto n = instances_of.find(target);
    for (int i = 0; n != instances_of.end() && i < n->second; ++i) {
      std::string id = protocol::InstanceId(r.id, target, i);
      auto p = r.placement.find(id);
      if (p == r.placement.end() || p->second.node_id.empty()) continue;
      targets.push_back(
          json::object{{"instance", id}, {"node_id", p->second.node_id}, {"url", p->second.url}});
    }
    out[output] = std::move(targets);
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

json::array Peers(const WorkflowSnapshot& snap, const std::string& node_id,
                  const PairDigestFn& pair_digest) {
  std::map<std::string, std::set<std::string>> grants;  // sender node -> instances here
  for (const WorkflowRecord& r : snap.workflows) AddGrants(r, node_id, grants);
  json::array peers;
  for (const auto& [sender, targets] : grants) {
    std::optional<std::string> digest = pair_digest ? pair_digest(sender, node_id) : std::nullopt;
    if (!digest) continue;  // removed since: nothing of it is accepted
    json::array ids;
    for (const std::string& t : targets) ids.push_back(json::string(t));
    peers.push_back(json::object{
        {"node_id", sender}, {"token_sha256", std::move(*digest)}, {"instances", std::move(ids)}});
  }
  return peers;
}

}  // namespace

std::string NodeAssignmentsJson(const WorkflowSnapshot& snap, const std::string& node_id,
                                const PairDigestFn& pair_digest) {
  json::array instances;
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
        instances.push_back(json::object{{"id", id},
                                         {"workflow", r.id},
                                         {"component", f.name},
                                         {"kind", "function"},
                                         {"function", f.function},
                                         {"sha256", r.placement.at(id).sha256},
                                         {"init_payload", SanitizeUtf8(f.init_payload)},
                                         {"memory_limit", f.memory_limit},
                                         {"timeout_ms", 0},
                                         {"outputs", Outputs(r, f.output_mapping, instances_of)}});
      }
    }
    for (const ResourceSpec& res : r.spec.resources) {
      std::string id = protocol::InstanceId(r.id, res.name, 0);
      if (!here(id)) continue;
      json::object configurations;
      for (const auto& [k, v] : res.configurations) configurations[k] = SanitizeUtf8(v);
      instances.push_back(json::object{{"id", id},
                                       {"workflow", r.id},
                                       {"component", res.name},
                                       {"kind", "resource"},
                                       {"class_type", res.class_type},
                                       {"configurations", std::move(configurations)},
                                       {"outputs", Outputs(r, res.output_mapping, instances_of)}});
    }
  }
  return ToJson(json::object{{"revision", snap.revision},
                             {"instances", std::move(instances)},
                             {"peers", Peers(snap, node_id, pair_digest)}});
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
