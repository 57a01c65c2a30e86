#include "control/workflows/workflow_watch.h"

#include <boost/json.hpp>

#include "common/json_util.h"
#include "control/workflows/placement.h"

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
      std::string id = InstanceId(r.id, target, i);
      auto p = r.placement.find(id);
      if (p == r.placement.end() || p->second.node_id.empty()) continue;
      targets.push_back(
          json::object{{"instance", id}, {"node_id", p->second.node_id}, {"url", p->second.url}});
    }
    out[output] = std::move(targets);
  }
  return out;
}

}  // namespace

std::string NodeAssignmentsJson(const WorkflowSnapshot& snap, const std::string& node_id) {
  json::array instances;
  for (const WorkflowRecord& r : snap.workflows) {
    std::map<std::string, int> instances_of;
    for (const FunctionSpec& f : r.spec.functions)
      instances_of[f.name] = std::max(1, f.max_instances);
    for (const ResourceSpec& res : r.spec.resources) instances_of[res.name] = 1;
    auto here = [&](const std::string& id) {
      auto p = r.placement.find(id);
      return p != r.placement.end() && p->second.node_id == node_id;
    };
    for (const FunctionSpec& f : r.spec.functions) {
      for (int i = 0; i < instances_of[f.name]; ++i) {
        std::string id = InstanceId(r.id, f.name, i);
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
      std::string id = InstanceId(r.id, res.name, 0);
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
  return ToJson(json::object{{"revision", snap.revision}, {"instances", std::move(instances)}});
}

WorkflowWatch::WorkflowWatch(Store& store, WorkflowStore& workflows, size_t max_waiters)
    : workflows_(workflows),
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
  r.body = NodeAssignmentsJson(**snap, node_id);
  r.headers.emplace_back("Cache-Control", "no-store");
  respond(std::move(r));
}

void WorkflowWatch::Wait(std::string node_id, std::optional<int64_t> since,
                         std::chrono::milliseconds wait, Responder respond) {
  poll_.Wait(std::move(node_id), since, wait, std::move(respond));
}

}  // namespace aether::control
