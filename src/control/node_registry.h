// The node registry: engines that registered, their liveness and what they
// report in heartbeats, and the gateway's choice of a node.
//
// Durability: registrations and up/down transitions are written to the Store
// (nodes/<node_id>), so the node list survives a restart. Heartbeats
// themselves stay in memory: writing every beat of every node would turn
// liveness into disk traffic, and what a beat carries (load, ready
// functions) is stale seconds later anyway. After a restart, nodes that were
// up get one node_timeout of grace to beat again; their ready maps are empty
// until they do.
//
// Liveness: a node is up after it registers or beats, and is marked down
// by Sweep() once silent for node_timeout (no leases: timestamps suffice).
//
// Thread-safety: any thread. Register, Heartbeat (on a state change) and
// Sweep block on store writes; List and the gateway calls do not.
#pragma once

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "control/event_log.h"
#include "control/store.h"

namespace aether::control {

struct NodeLoad {
  int64_t inflight = 0;
  int64_t queue = 0;
};

struct NodeRegistration {
  std::string node_id;
  std::string url;
  std::map<std::string, std::string> labels;
  boost::json::object capacity;
};

struct Heartbeat {
  std::string node_id;
  NodeLoad load;
  std::map<std::string, std::string> ready;  // function name → sha256
  int64_t cached = 0;
};

struct NodeStatus {
  NodeRegistration reg;
  bool up = false;
  std::string registered_at;   // RFC 3339
  std::string last_heartbeat;  // RFC 3339; empty before the first beat
  std::map<std::string, std::string> ready;
  int64_t cached = 0;
  NodeLoad load;
  int64_t gateway_inflight = 0;  // requests the gateway has outstanding there
};

// A node chosen by the gateway; hand it back to Release().
struct NodePick {
  std::string node_id;
  std::string url;
};

struct NodeRegistryOptions {
  std::chrono::nanoseconds node_timeout = std::chrono::seconds(30);
  // Injectable for tests.
  std::function<std::chrono::steady_clock::time_point()> now = [] {
    return std::chrono::steady_clock::now();
  };
};

class NodeRegistry {
 public:
  // Loads the persisted nodes.
  static Result<std::unique_ptr<NodeRegistry>> Open(Store& store, EventLog& events,
                                                    NodeRegistryOptions options);

  // New or re-registering node (url, labels, capacity replaced; ready map
  // cleared). The node is up.
  Status Register(NodeRegistration reg);
  // NotFound for a node that never registered (the engine then
  // re-registers). A down node comes back up.
  Status Beat(Heartbeat beat);
  // Marks nodes silent for node_timeout down. Call periodically.
  void Sweep();

  std::vector<NodeStatus> List() const;
  // Whether `node_id` ever registered (up or down); cheaper than List().
  bool Has(const std::string& node_id) const;
  struct Counts {
    int64_t up = 0;
    int64_t down = 0;
  };
  Counts Count() const;

  // The up node with `function` ready at `sha256` and the fewest
  // outstanding requests (gateway in-flight + the node's reported load),
  // skipping `exclude`; nullopt when there is none. Counts one in-flight
  // request until Release.
  std::optional<NodePick> Pick(const std::string& function, const std::string& sha256,
                               const std::vector<std::string>& exclude = {});
  void Release(const std::string& node_id);

 private:
  struct Node {
    NodeStatus status;
    std::chrono::steady_clock::time_point last_seen;
  };
  NodeRegistry(Store& store, EventLog& events, NodeRegistryOptions options)
      : store_(store), events_(events), options_(std::move(options)) {}
  Status Persist(const std::string& node_id);
  void Record(const std::string& type, const std::string& node_id, const std::string& url);

  Store& store_;
  EventLog& events_;
  NodeRegistryOptions options_;
  std::mutex persist_mu_;  // taken before mu_, never while holding it
  mutable std::mutex mu_;
  std::map<std::string, Node> nodes_;
  uint64_t rotation_ = 0;  // breaks ties between equally loaded nodes
};

}  // namespace aether::control
