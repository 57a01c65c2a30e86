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
// The pieces it drives, each with its own header: the spec parser
// (workflow_spec.h), placement (placement.h: the rules; workflow_placer.h:
// against the registries), persistence (workflow_store.h) and status
// tracking (instance_statuses.h: the reports, kept in memory, and the
// state they give).
//
// Thread-safety: any thread. Apply, Delete and Reconcile serialize on one
// mutex and block on store I/O; Start/Stop from the controlling thread.
#pragma once

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
#include "control/leadership.h"
#include "control/node_registry.h"
#include "control/store.h"
#include "control/workflows/instance_statuses.h"
#include "control/workflows/workflow_placer.h"
#include "control/workflows/workflow_store.h"

namespace aether::control {

// The largest workflow spec accepted (POST /api/workflows).
inline constexpr size_t kMaxWorkflowSpecBytes = 1 << 20;

// One workflow of GET /api/workflows.
struct WorkflowSummary {
  std::string id;
  std::string name;
  std::string state;
  std::string reason;
  size_t components = 0;
  size_t instances = 0;  // placed or not
  std::string created_at;
};

struct WorkflowList {
  int64_t revision = 0;  // the workflows revision
  std::vector<WorkflowSummary> workflows;
};

struct OrchestratorOptions {
  std::chrono::milliseconds period{250};
  // Replicas (leadership.h): Reconcile acts only while this replica leads,
  // and writes placements through this fenced store. Null: one process,
  // always reconciling through the orchestrator's store. Apply and Delete
  // (the API) run on any replica either way.
  FencedStore* leader = nullptr;
  // How a new instance picks among the nodes that may take it ([workflow]
  // placement).
  PlacementPolicy placement = PlacementPolicy::kLeastLoaded;
  // A cluster controller's domains ([domain] role = "cluster"): workflows
  // are mapped onto them (domain_placer.h) instead of placed on nodes; an
  // instance's "node" is its domain, reports come from domains, and moves
  // are recorded as component_moved.
  DomainRegistry* domains = nullptr;
};

class Orchestrator {
 public:
  Orchestrator(Store& store, FunctionRegistry& functions, NodeRegistry& nodes, EventLog& events,
               MetricsRegistry& metrics, OrchestratorOptions options = {});
  ~Orchestrator();  // Stop()s

  void Start();
  void Stop();  // idempotent

  // Parses, validates (functions must be deployed), places and stores a
  // workflow, and returns it as placed. Errors: InvalidArgument "<path>:
  // ..." (the spec), ResourceExhausted (over kMaxWorkflowSpecBytes),
  // AlreadyExists (name taken), store errors.
  // `warnings` (may be null): what an EDGELESS-shaped spec had that Aether
  // ignores (SpecCheckHooks::warnings).
  Result<WorkflowView> Apply(std::string_view spec_json, const std::string& source,
                             std::vector<std::string>* warnings = nullptr);
  // NotFound for an unknown id.
  Status Delete(const std::string& id, const std::string& source);
  // GET /api/workflows/{id}; NotFound for an unknown id.
  Result<WorkflowView> Show(const std::string& id);
  // Moves every instance of `component` (empty: of every component) of
  // workflow `id` to node `node` now, recording instance_moved with
  // `source`; afterwards the usual rules keep them there while the node is
  // up and eligible. *moved: how many changed node. NotFound: no such
  // workflow or node; InvalidArgument: no such component; FailedPrecondition:
  // the node is down, cordoned or draining, or a component may not run
  // there (its annotations: the message says which); Unavailable when the
  // workflow changed meanwhile (retry).
  Result<WorkflowView> Migrate(const std::string& id, const std::string& component,
                               const std::string& node, const std::string& source, int* moved);
  // A domain's control plane taking its part of workflow `id` from its
  // controller: created with that id, or its spec replaced (instances of
  // the components that stay keep their nodes). *changed: whether the
  // store was written. InvalidArgument for a spec that does not parse
  // (functions must be deployed here first).
  Status Put(const std::string& id, std::string_view spec_json, const std::string& source,
             bool* changed);
  // GET /api/workflows.
  Result<WorkflowList> List();
  // The ids of the workflows whose spec uses deployed function `function`.
  Result<std::vector<std::string>> WorkflowsUsing(const std::string& function);

  // POST /node/workflows/status. Reports of instances no workflow has are
  // ignored. NotFound for a node that never registered.
  Status Report(const std::string& node_id, std::vector<InstanceReport> instances);

  // One re-evaluation pass (the thread calls it; tests may too). Does
  // nothing on a follower.
  Status Reconcile();

  WorkflowStore& workflow_store() { return workflows_; }

 private:
  void Run();
  std::map<std::string, NodeLiveness> Nodes() const;
  // The workflow as the API shows it (without the spec).
  WorkflowView Describe(const WorkflowRecord& r) const;
  Result<PlacementInputs> Inputs();
  // A spec whose functions must be among those deployed (`in.shas`).
  static Result<WorkflowSpec> ParseDeployed(std::string_view spec_json, const PlacementInputs& in,
                                            bool portals = false,
                                            std::vector<std::string>* warnings = nullptr);
  std::string NewId();
  // `data`: the event's data as JSON text.
  void Record(const std::string& type, const std::string& source, std::string data);
  void UpdateMetrics(const WorkflowSnapshot& snap);
  struct Move {
    std::string workflow, instance, from, to;
  };
  // A cluster controller's moves: one component_moved per component.
  void RecordComponentMoves(const std::vector<Move>& moves, const std::string& source);

  Store& store_;
  FunctionRegistry& functions_;
  NodeRegistry& nodes_;
  EventLog& events_;
  OrchestratorOptions options_;
  WorkflowStore workflows_;
  WorkflowStore reconcile_workflows_;  // over options_.leader when set
  GaugeFamily& workflows_gauge_;
  GaugeFamily& instances_gauge_;

  std::mutex reconcile_mu_;         // Apply, Delete, Reconcile; taken before statuses_' own
  std::mt19937_64 rng_;             // under reconcile_mu_
  PlacementState placement_state_;  // under reconcile_mu_

  InstanceStatuses statuses_;

  std::mutex thread_mu_;
  std::condition_variable thread_cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace aether::control
