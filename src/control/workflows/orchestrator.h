// The workflow orchestrator: applies and deletes workflows, keeps every
// instance placed on a live, eligible node (placement.h), follows function
// re-deploys, and holds what engines report about their instances.
//
// Re-evaluation (Reconcile) runs on its own thread whenever the store moves
// (an apply, a delete, a node registering or going up/down, a deploy: all
// are store writes) and at least every `period` (node load changes are not
// stored). It writes a changed placement to the store, which wakes the
// engines' GET /node/workflows polls, and records workflow_pending,
// node_lost and instance_moved events. Apply and Delete record
// workflow_applied / workflow_deleted.
//
// Instance statuses (POST /node/workflows/status) are kept in memory only:
// engines resend them every second while anything changes, and a restarted
// control plane shows "placed" until they do.
//
// Thread-safety: any thread. Apply, Delete and Reconcile serialize on one
// mutex and block on store I/O; Start/Stop from the controlling thread.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/metrics.h"
#include "common/result.h"
#include "control/event_log.h"
#include "control/function_registry.h"
#include "control/node_registry.h"
#include "control/store.h"
#include "control/workflows/workflow_store.h"
#include "protocol/instance_status.h"

namespace aether::control {

// The largest workflow spec accepted (POST /api/workflows).
inline constexpr size_t kMaxWorkflowSpecBytes = 1 << 20;

// One instance as an engine reports it (protocol/instance_status.h).
using InstanceReport = protocol::InstanceStatus;

struct OrchestratorOptions {
  std::chrono::milliseconds period{250};
};

class Orchestrator {
 public:
  Orchestrator(Store& store, FunctionRegistry& functions, NodeRegistry& nodes, EventLog& events,
               MetricsRegistry& metrics, OrchestratorOptions options = {});
  ~Orchestrator();  // Stop()s

  void Start();
  void Stop();  // idempotent

  // Parses, validates (functions must be deployed), places and stores a
  // workflow. Returns {"id", "state", "reason", "ingress"}. Errors:
  // InvalidArgument "<path>: ..." (the spec), AlreadyExists (name taken),
  // store errors.
  Result<boost::json::object> Apply(std::string_view spec_json, const std::string& source);
  // NotFound for an unknown id.
  Status Delete(const std::string& id, const std::string& source);
  // GET /api/workflows/{id}; NotFound for an unknown id.
  Result<boost::json::object> Show(const std::string& id);
  // GET /api/workflows.
  Result<boost::json::object> List();
  // The ids of the workflows whose spec uses deployed function `function`.
  Result<std::vector<std::string>> WorkflowsUsing(const std::string& function);

  // POST /node/workflows/status. Reports of instances no workflow has are
  // ignored. NotFound for a node that never registered.
  Status Report(const std::string& node_id, std::vector<InstanceReport> instances);

  // One re-evaluation pass (the thread calls it; tests may too).
  Status Reconcile();

  WorkflowStore& workflow_store() { return workflows_; }

 private:
  struct Reported {
    std::string node_id;
    InstanceReport report;
    std::string at;  // RFC 3339
  };
  struct NodeView {
    std::string url;
    bool up = false;
  };
  struct Described {
    std::string state;
    std::string reason;
    boost::json::array instances;
    boost::json::array ingress;
    int64_t placed = 0;
    int64_t unplaced = 0;
  };
  void Run();
  Described Describe(const WorkflowRecord& r, const std::map<std::string, NodeView>& nodes);
  std::map<std::string, NodeView> Nodes() const;
  std::string NewId();
  void Record(const std::string& type, const std::string& source, boost::json::object data);
  void UpdateMetrics(const WorkflowSnapshot& snap);

  Store& store_;
  FunctionRegistry& functions_;
  NodeRegistry& nodes_;
  EventLog& events_;
  OrchestratorOptions options_;
  WorkflowStore workflows_;
  GaugeFamily& workflows_gauge_;
  GaugeFamily& instances_gauge_;

  std::mutex reconcile_mu_;  // Apply, Delete, Reconcile; taken before status_mu_
  std::mt19937_64 rng_;      // under reconcile_mu_

  std::mutex status_mu_;
  std::map<std::string, Reported> statuses_;  // instance id -> last report

  std::mutex thread_mu_;
  std::condition_variable thread_cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace aether::control
