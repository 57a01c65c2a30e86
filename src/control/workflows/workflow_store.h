// Workflows as the control plane keeps them, in the Store:
//   workflows/<id>    one workflow: id, name, created_at, whether it is
//                     incarnated (its create revision names its JetStream
//                     stream and buckets), the normalized spec
//                     (SerializeWorkflowSpec), its placement (every instance ->
//                     node id, node url, the node's credential id, sha256 of
//                     the function version it runs) and the reason it is not
//                     fully placed
//   meta/workflows    rewritten in the same txn as every workflow change; its
//                     mod revision is the workflows revision that engines
//                     long-poll on (GET /node/workflows)
// Node urls, credential ids and sha256s are part of the stored placement so
// that what an engine gets is one consistent snapshot, and so that a
// re-deploy, a node moving to a new url or a node admitted again with a new
// credential (its peers need its new dataplane token digest) is a store
// change that wakes the engines.
//
// Thread-safety: any thread; calls block on store I/O.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.h"
#include "control/store.h"
#include "control/workflows/workflow_spec.h"

namespace aether::control {

struct PlacedInstance {
  std::string node_id;        // "" = unplaced
  std::string url;            // the node's url when placed
  std::string credential_id;  // the node's NodeStatus::credential_id when placed
  std::string sha256;         // functions: the version it runs; resources: ""
  bool operator==(const PlacedInstance&) const = default;
};

struct WorkflowRecord {
  std::string id;
  std::string name;  // the spec's name; "" when the id was generated
  std::string created_at;
  WorkflowSpec spec;
  std::map<std::string, PlacedInstance> placement;  // every instance id of the spec
  std::string reason;        // why some instance is unplaced; "" when all are placed
  int64_t mod_revision = 0;  // of workflows/<id> when read; the CAS guard of Update
  // Created since workflows have incarnations (stored as "incarnated"):
  // its incarnation is create_revision. False for a record written before
  // (its JetStream stream and buckets keep the names without one).
  bool incarnated = false;
  int64_t create_revision = 0;  // of workflows/<id> when read (a delete and create changes it)
  // protocol::InstanceAssignment::incarnation: create_revision, or 0 for an
  // older record.
  int64_t incarnation() const { return incarnated ? create_revision : 0; }
};

struct WorkflowSnapshot {
  int64_t revision = 0;  // the workflows revision (0 before the first workflow change)
  std::vector<WorkflowRecord> workflows;  // by id
  // False when a record could not be read (and is missing from
  // `workflows`): engines then get no list of every workflow, so they
  // delete no JetStream stream or bucket of it by mistake.
  bool complete = true;
  const WorkflowRecord* Find(const std::string& id) const;
};

class WorkflowStore {
 public:
  explicit WorkflowStore(Store& store) : store_(store) {}

  // The workflows revision: one store read.
  Result<int64_t> Revision();
  // Every workflow at one revision, decoded once per workflows revision and
  // shared. Unreadable records are skipped with a warning.
  Result<std::shared_ptr<const WorkflowSnapshot>> Snapshot();
  // AlreadyExists when the id is taken.
  Status Create(const WorkflowRecord& record);
  // Compare-and-set on record.mod_revision: FailedPrecondition when the
  // workflow changed or went away since it was read.
  Status Update(const WorkflowRecord& record);
  // NotFound for an unknown id.
  Status Delete(const std::string& id);

  static std::string Key(const std::string& id);
  static std::string Encode(const WorkflowRecord& record);
  static Result<WorkflowRecord> Decode(std::string_view text);

 private:
  Status Write(Compare guard, const WorkflowRecord& record, std::string_view what);

  Store& store_;
  std::mutex mu_;
  std::shared_ptr<const WorkflowSnapshot> cached_;
};

}  // namespace aether::control
