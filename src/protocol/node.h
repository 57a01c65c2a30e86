// The node's messages to the control plane (docs/api.md, "Node protocol"):
// POST /register and its answer, POST /node/heartbeat. Engines encode the
// requests and parse the answer; the control plane does the reverse and
// validates what a node sends (a node can lie only about itself).
//
// Pure functions: any thread may call them.
#pragma once

#include <boost/json/fwd.hpp>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "common/result.h"

namespace aether::protocol {

// Bounds of what a node may send.
inline constexpr size_t kMaxLabels = 64;
inline constexpr size_t kMaxCapacityBytes = 4096;
inline constexpr size_t kMaxReadyEntries = 100000;

// POST /register {"node_id", "url", "labels"?, "capacity"?}.
struct NodeRegistration {
  std::string node_id;
  std::string url;  // where the control plane reaches the engine; no trailing '/'
  std::map<std::string, std::string> labels;
  // A JSON object's compact text, shown in /api/nodes (workers, queue, ...).
  std::string capacity = "{}";
  bool operator==(const NodeRegistration&) const = default;
};
// A capacity that is not a JSON object is sent as {}.
std::string EncodeRegistration(const NodeRegistration& reg);
// NodeRegistration::capacity as the object it is ({} when it is not one),
// for answers and records that embed it.
boost::json::object CapacityObject(std::string_view capacity);
// Validates: node_id (ValidateNodeId), url (ValidateNodeUrl; trailing '/'
// dropped), labels (at most kMaxLabels, keys up to 128 and values up to 256
// characters), capacity (an object of at most kMaxCapacityBytes).
// InvalidArgument naming the field.
Result<NodeRegistration> RegistrationFromJson(const boost::json::object& body);

// The answer to POST /register.
struct RegisterReply {
  std::string node_id;
  int64_t heartbeat_interval_ms = 0;
  int64_t node_timeout_ms = 0;
  // The node's own secret: only when the join token admitted a new node.
  std::string credential;
  bool operator==(const RegisterReply&) const = default;
};
std::string EncodeRegisterReply(const RegisterReply& reply);
// InvalidArgument when it is not an object or a field has the wrong type.
Result<RegisterReply> ParseRegisterReply(std::string_view json);

struct NodeLoad {
  int64_t inflight = 0;  // requests executing
  int64_t queue = 0;     // requests waiting for a worker
  bool operator==(const NodeLoad&) const = default;
};

// POST /node/heartbeat {"node_id", "load": {"inflight", "queue"}, "ready",
// "cached"}.
struct Heartbeat {
  std::string node_id;
  NodeLoad load;
  std::map<std::string, std::string> ready;  // function name -> sha256 served
  int64_t cached = 0;
  bool operator==(const Heartbeat&) const = default;
};
std::string EncodeHeartbeat(const Heartbeat& beat);
// `default_node_id` when "node_id" is absent (the caller's credential names
// the node). Negative loads count as 0; "ready" as labels, up to
// kMaxReadyEntries. InvalidArgument naming the field.
Result<Heartbeat> HeartbeatFromJson(const boost::json::object& body,
                                    std::string_view default_node_id);

}  // namespace aether::protocol
