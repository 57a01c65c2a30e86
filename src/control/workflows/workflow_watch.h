// GET /node/workflows?node_id=&since=&wait=: the instances placed on one
// node, long-polled like /node/manifest. A request whose `since` equals the
// workflows revision (meta/workflows) is parked until a workflow changes
// (apply, delete, a new placement, a re-deploy, a node url) or its wait runs
// out; either way it is answered with the node's instances at the current
// revision. The parking is long_poll.h's.
//
// Thread-safety: Wait from any thread (blocks on a store read: call it off
// the IO threads); Start/Stop from the controlling thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "common/http_server.h"
#include "control/long_poll.h"
#include "control/store.h"
#include "control/workflows/workflow_store.h"
#include "protocol/assignments.h"

namespace aether::control {

inline constexpr std::chrono::seconds kMaxWorkflowsWait{30};

// SHA-256 (hex) of the dataplane token `sender` sends to `receiver`
// (NodeRegistry::PairTokenDigest); nullopt when the sender is unknown.
using PairDigestFn = std::function<std::optional<std::string>(const std::string& sender,
                                                              const std::string& receiver)>;

// The answer for `node_id` (docs/workflow-protocol.md, protocol/assignments.h):
// its instances at the snapshot's revision, with every output resolved to
// the placed instances of its target (unplaced targets are left out), every
// function instance given routes back to the components that send to it
// (outputs "@<component>": EDGELESS's raw casts answer a sender), and as
// "peers" the other nodes whose instances have outputs, or such routes back,
// into instances on `node_id` — what the engine's dataplane accepts from
// each, and for which instances.
protocol::Assignments NodeAssignments(const WorkflowSnapshot& snap, const std::string& node_id,
                                      const PairDigestFn& pair_digest);
// protocol::EncodeAssignments of the above.
std::string NodeAssignmentsJson(const WorkflowSnapshot& snap, const std::string& node_id,
                                const PairDigestFn& pair_digest);

class WorkflowWatch {
 public:
  WorkflowWatch(Store& store, WorkflowStore& workflows, PairDigestFn pair_digest,
                size_t max_waiters = 10000);
  ~WorkflowWatch();

  void Start();
  // Answers every parked request and joins.
  void Stop();

  // Answers at once when `since` is absent or differs from the workflows
  // revision, or when `wait` is zero; otherwise parks (wait capped at 30 s).
  void Wait(std::string node_id, std::optional<int64_t> since, std::chrono::milliseconds wait,
            Responder respond);
  size_t waiters() const;

 private:
  void Answer(const std::string& node_id, Responder& respond);

  WorkflowStore& workflows_;
  const PairDigestFn pair_digest_;
  LongPoll poll_;
};

}  // namespace aether::control
