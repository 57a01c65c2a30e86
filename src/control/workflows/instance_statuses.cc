#include "control/workflows/instance_statuses.h"

#include <algorithm>

#include "common/resource_config.h"
#include "control/workflows/workflow_placer.h"
#include "protocol/ids.h"

namespace aether::control {
namespace {

// At most this many problems are spelled out in a degraded workflow's reason.
constexpr size_t kMaxReasons = 3;

}  // namespace

void InstanceStatuses::Report(const std::string& node_id, const WorkflowSnapshot& snap,
                              std::vector<InstanceReport> instances, const std::string& at) {
  std::lock_guard lock(mu_);
  for (InstanceReport& rep : instances) {
    const WorkflowRecord* r = snap.Find(rep.id.substr(0, rep.id.find('/')));
    if (!r || !r->placement.contains(rep.id)) continue;  // stale: that instance is gone
    std::string id = rep.id;
    statuses_[id] = Reported{node_id, std::move(rep), at};
  }
}

void InstanceStatuses::ForgetWorkflow(const std::string& id) {
  std::lock_guard lock(mu_);
  std::string prefix = id + "/";
  for (auto it = statuses_.lower_bound(prefix);
       it != statuses_.end() && it->first.starts_with(prefix);) {
    it = statuses_.erase(it);
  }
}

void InstanceStatuses::Retain(const WorkflowSnapshot& snap) {
  std::lock_guard lock(mu_);
  for (auto it = statuses_.begin(); it != statuses_.end();) {
    const WorkflowRecord* r = snap.Find(it->first.substr(0, it->first.find('/')));
    if (!r || !r->placement.contains(it->first)) {
      it = statuses_.erase(it);
    } else {
      ++it;
    }
  }
}

InstanceStatuses::Described InstanceStatuses::Describe(
    const WorkflowRecord& r, const std::map<std::string, NodeLiveness>& nodes) const {
  Described d;
  WorkflowView& v = d.view;
  v.id = r.id;
  v.name = r.name;
  v.created_at = r.created_at;
  int64_t waiting = 0;
  std::vector<std::string> problems;
  std::lock_guard lock(mu_);
  auto add = [&](const std::string& component, int count, bool resource, const std::string& what) {
    for (int i = 0; i < count; ++i) {
      std::string id = protocol::InstanceId(r.id, component, i);
      PlacedInstance p;
      if (auto it = r.placement.find(id); it != r.placement.end()) p = it->second;
      InstanceView o{id, component, resource, what, p.node_id, p.url, "", "", {}, ""};
      std::string& state = o.state;
      const Reported* rep = nullptr;
      if (auto s = statuses_.find(id); s != statuses_.end() && s->second.node_id == p.node_id) {
        rep = &s->second;
      }
      auto node = nodes.find(p.node_id);
      if (p.node_id.empty()) {
        state = "unplaced";
        ++d.unplaced;
      } else {
        ++d.placed;
        if (node == nodes.end() || !node->second.up) {
          state = "lost";
          problems.push_back("instance " + id + ": node " + p.node_id + " is down");
        } else if (rep) {
          state = rep->report.state;
          if (state == "restarting" || state == "failed") {
            std::string p2 = "instance " + id + " is " + state;
            if (!rep->report.last_error.empty()) p2 += ": " + rep->report.last_error;
            problems.push_back(std::move(p2));
          } else if (state != "running") {
            ++waiting;
          }
        } else {
          state = "placed";
          ++waiting;
        }
      }
      if (rep) {
        o.report = rep->report;
        o.reported_at = rep->at;
      }
      v.instances.push_back(std::move(o));
    }
  };
  for (const FunctionSpec& f : r.spec.functions) {
    add(f.name, std::max(1, f.max_instances), false, f.function);
  }
  for (const ResourceSpec& res : r.spec.resources) {
    add(res.name, 1, true, res.class_type);
    if (res.class_type != "http-ingress") continue;
    Result<HttpIngressConfig> cfg = ParseHttpIngressConfig(res.configurations, res.name);
    std::string path = cfg.ok() ? cfg->path : res.name;
    std::string url;
    if (auto it = r.placement.find(protocol::InstanceId(r.id, res.name, 0));
        it != r.placement.end() && !it->second.url.empty()) {
      url = it->second.url + "/wf/" + r.id + "/" + path;
    }
    v.ingress.push_back({res.name, std::move(url)});
  }
  if (d.unplaced > 0) {
    v.state = "pending";
    v.reason = r.reason.empty() ? std::to_string(d.unplaced) + " instance(s) not placed" : r.reason;
  } else if (!problems.empty()) {
    v.state = "degraded";
    if (problems.size() > kMaxReasons) {
      size_t more = problems.size() - kMaxReasons;
      problems.resize(kMaxReasons);
      problems.push_back("and " + std::to_string(more) + " more");
    }
    v.reason = JoinReasons(problems);
  } else if (waiting > 0) {
    v.state = "pending";
    v.reason = "waiting for " + std::to_string(waiting) + " instance(s) to start";
  } else {
    v.state = "running";
  }
  return d;
}

}  // namespace aether::control
