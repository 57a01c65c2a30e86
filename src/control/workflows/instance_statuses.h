// The state of workflows as engines report it: the last status of every
// instance (POST /node/workflows/status), kept in memory only (engines
// resend them every second while anything changes, and a restarted control
// plane shows "placed" until they do), and the state of a workflow computed
// from its placement, those reports and the nodes' liveness (README,
// "State").
//
// Thread-safety: any thread; one mutex, taken after the orchestrator's.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "control/workflows/workflow_store.h"
#include "protocol/instance_status.h"

namespace aether::control {

// One instance as an engine reports it (protocol/instance_status.h).
using InstanceReport = protocol::InstanceStatus;

// One instance as GET /api/workflows/{id} shows it.
struct InstanceView {
  std::string id;  // "<workflow>/<component>/<index>"
  std::string component;
  bool resource = false;  // a resource, else a function
  std::string what;       // the function's name, or the resource's class_type
  std::string node_id;    // "" = unplaced
  std::string node_url;
  // On a cluster controller: the domain it is mapped to (node_id is then
  // the node in it, as the domain reported; "" before it did).
  std::string domain;
  // unplaced | lost (its node is down) | placed (no report yet) | the
  // reported state (starting | running | restarting | failed).
  std::string state;
  // The last report from the node it is placed on (zeros when none).
  InstanceReport report;
  std::string reported_at;  // RFC 3339; "" = no report
};

// Where an http-ingress resource takes requests.
struct IngressView {
  std::string component;
  std::string url;  // "" until placed
};

// A workflow with its state computed at the time of the call: pending
// (instances unplaced or not running yet), degraded (an instance
// restarting or failed, or its node down) or running; `reason` says why
// it is not running.
struct WorkflowView {
  std::string id;
  std::string name;  // "" when the id was generated
  std::string created_at;
  WorkflowSpec spec;  // (Apply and Show)
  std::string state;
  std::string reason;
  std::vector<InstanceView> instances;  // in spec order
  std::vector<IngressView> ingress;
};

// A node as the state computation sees it.
struct NodeLiveness {
  std::string url;
  bool up = false;
};

class InstanceStatuses {
 public:
  // Keeps the reports of instances that `snap` places (stale ones, of
  // instances since deleted, are dropped), stamped `at` (RFC 3339).
  void Report(const std::string& node_id, const WorkflowSnapshot& snap,
              std::vector<InstanceReport> instances, const std::string& at);
  // Forgets the instances of workflow `id`.
  void ForgetWorkflow(const std::string& id);
  // Forgets the instances that `snap` does not place.
  void Retain(const WorkflowSnapshot& snap);

  struct Described {
    WorkflowView view;  // without the spec
    int64_t placed = 0;
    int64_t unplaced = 0;
  };
  // `r`'s state now; `nodes` by node id.
  Described Describe(const WorkflowRecord& r,
                     const std::map<std::string, NodeLiveness>& nodes) const;

 private:
  struct Reported {
    std::string node_id;
    InstanceReport report;
    std::string at;  // RFC 3339
  };
  mutable std::mutex mu_;
  std::map<std::string, Reported> statuses_;  // instance id -> last report
};

}  // namespace aether::control
