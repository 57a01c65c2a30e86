// GET /node/workflows (docs/workflow-protocol.md, "Control plane ↔
// engine"): the workflow instances placed on one node, where each output
// leads, and which peers may send to the node over the dataplane. The
// control plane encodes it from its placements; the engine's poller parses
// it and hands it to the workflow host and the dataplane.
//
// Pure functions: any thread may call them.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/resource_config.h"
#include "common/result.h"

namespace aether::protocol {

// One target instance of an output.
struct OutputTarget {
  std::string instance;  // "<workflow>/<component>/<index>"
  std::string node_id;
  std::string url;  // the node's engine, e.g. "http://127.0.0.1:9092"
  bool operator==(const OutputTarget&) const = default;
};

// How a workflow's casts travel (docs/workflows.md, "Delivery"): in
// memory, fastest, lost with the node that queued them; or through a
// durable log, acknowledged by the receiver, delivered again after a
// failure (workflow/event_log.h).
enum class Delivery { kAtMostOnce, kAtLeastOnce };
std::string_view DeliveryName(Delivery d);  // "at-most-once", "at-least-once"
std::optional<Delivery> ParseDelivery(std::string_view name);

// One entry of "instances".
struct InstanceAssignment {
  std::string id;
  std::string workflow;
  std::string component;
  enum class Kind { kFunction, kResource } kind = Kind::kFunction;
  std::string function;              // kFunction
  std::string sha256;                // kFunction
  std::string class_type;            // kResource
  ResourceConfigMap configurations;  // kResource
  std::string init_payload;          // kFunction
  uint64_t memory_limit = 0;         // kFunction; 0 = the function's / node's
  int64_t timeout_ms = 0;            // kFunction; 0 = the function's / node's
  std::map<std::string, std::vector<OutputTarget>> outputs;
  // The component each output leads to (the spec's output_mapping): an
  // at-least-once cast needs only that, also while no instance of it is
  // placed (its events wait in the log).
  std::map<std::string, std::string> output_components;
  Delivery delivery = Delivery::kAtMostOnce;  // the workflow's
  // Which workflow of this name (docs/workflows.md, "Lifetime of streams
  // and buckets"): the control plane's create revision of the workflow's
  // record, so a workflow deleted and created again under the same name
  // has another one, and one created after a revision R has one above R.
  // Its JetStream stream and kv buckets are named with it. 0: none (a
  // workflow created before incarnations, or an older control plane): the
  // names without it.
  int64_t incarnation = 0;
  bool operator==(const InstanceAssignment&) const = default;
};

// A node that may send to this one over the dataplane (the "peers"): its
// id, the SHA-256 (hex) of the token it sends here, and the instances here
// its outputs reach.
struct PeerGrant {
  std::string node_id;
  std::string token_sha256;
  std::set<std::string, std::less<>> instances;
  bool operator==(const PeerGrant&) const = default;
};

// Every workflow at the answer's revision, name -> incarnation (0: none),
// on whatever nodes it runs: what an engine needs to tell the JetStream
// streams and buckets of deleted workflows from live ones.
using WorkflowIncarnations = std::map<std::string, int64_t, std::less<>>;

struct Assignments {
  int64_t revision = 0;
  std::vector<InstanceAssignment> instances;
  std::vector<PeerGrant> peers;
  // nullopt: an older control plane that does not send the list (then an
  // engine deletes nothing of JetStream).
  std::optional<WorkflowIncarnations> workflows;
  bool operator==(const Assignments&) const = default;
};

// {"revision", "instances": [...], "peers": [...]}; a function instance
// carries function, sha256, init_payload, memory_limit and timeout_ms, a
// resource class_type and configurations (text made valid UTF-8); an
// at-least-once instance "delivery": "at-least-once" (absent: at-most-once,
// which older engines assume); "incarnation" when not 0; "workflows":
// {"<name>": incarnation, ...} when set.
std::string EncodeAssignments(const Assignments& assignments);

// The control plane validated the spec, but an engine still checks every
// name it will use as a map key, a log field or a path component, so a
// broken or foreign server cannot make it write outside its data dir.
// InvalidArgument naming the field; one bad entry fails the whole answer.
// Target urls lose trailing '/'. Absent "peers" (an older control plane)
// means none; an unknown "delivery" is an error (an engine must not run an
// at-least-once workflow as at-most-once). "workflows", when present, must
// name every instance's workflow with the instance's incarnation.
Result<Assignments> ParseAssignments(std::string_view json);

}  // namespace aether::protocol
