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
// With replicas (options.leader) only the leader sweeps; a follower that
// hears a node rewrites seen/<id> in the store at most every
// node_timeout / 3, which the leader's sweep takes as a beat. Every
// replica that hears a node also rewrites seen/<id> when the node's ready
// map changes (a deploy, a load: rare), and every replica takes the ready
// maps of the nodes it does not hear itself from there: the gateway of a
// replica that no engine beats to still knows where each function is
// ready. Up/down reaches the other replicas through the node's row: each
// takes the stored state of the nodes it does not hear itself, so a
// follower's gateway stops choosing a node the leader marked down.
//
// Identity (docs/api.md, "Node protocol"): Admit() — the join token's one
// use — issues a new node its own secret and stores only what
// common/node_credential.h derives from it (its SHA-256, and the dataplane
// key); every later call of that node is checked by Authenticate(). Remove()
// revokes a node: its row becomes a tombstone (nodes/<id> with state
// "removed"), so its credential is refused (PermissionDenied) rather than
// unknown (NotFound, which tells an engine to join again), until the id is
// admitted again as a new node.
//
// Thread-safety: any thread. Register, Heartbeat (on a state change) and
// Sweep block on store writes; List and the gateway calls do not.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "control/event_log.h"
#include "control/leadership.h"
#include "control/store.h"
#include "protocol/node.h"

namespace aether::control {

// What a node sends (protocol/node.h): its registration (capacity as JSON
// text) and its heartbeats.
using protocol::Heartbeat;
using protocol::NodeLoad;
using protocol::NodeRegistration;

// Whether workflow instances may be placed on a node (aether nodes
// cordon|uncordon|drain). A node's own choice never changes it: only an
// operator's, and it survives the node registering again.
inline constexpr std::string_view kSchedulingActive = "active";      // anything may go there
inline constexpr std::string_view kSchedulingCordoned = "cordoned";  // what is there stays
inline constexpr std::string_view kSchedulingDraining = "draining";  // what is there moves away
bool ValidScheduling(std::string_view s);
// The scheduling an operator's action asks for ("cordon", "uncordon",
// "drain"); empty for another action.
std::string_view SchedulingOf(std::string_view action);

struct NodeStatus {
  NodeRegistration reg;
  bool up = false;
  std::string scheduling = std::string(kSchedulingActive);
  std::string registered_at;   // RFC 3339
  std::string last_heartbeat;  // RFC 3339; empty before the first beat
  std::map<std::string, std::string> ready;
  int64_t cached = 0;
  NodeLoad load;
  int64_t gateway_inflight = 0;  // requests the gateway has outstanding there
  // A fingerprint of the node's current credential (16 hex digits, not a
  // secret): changes when the id is admitted again, so that placements,
  // which store it, change too and wake the engines' workflow polls.
  std::string credential_id;
};

// A node chosen by the gateway; hand it back to Release().
struct NodePick {
  std::string node_id;
  std::string url;
};

struct NodeRegistryOptions {
  std::chrono::nanoseconds node_timeout = std::chrono::seconds(30);
  // Liveness and the RFC 3339 stamps; outlives the registry (tests: a FakeClock).
  Clock* clock = &Clock::Real();
  // A new node secret (64 hex digits); empty = auth.h's GenerateToken.
  std::function<Result<std::string>()> new_secret;
  // Replicas (leadership.h): Sweep runs only while this replica leads, and
  // writes through this fenced store; at the start of each term it first
  // loads the nodes that registered at other replicas. Null: one process,
  // always sweeping through the registry's store.
  FencedStore* leader = nullptr;
  // Other replicas share the store (etcd): what this one hears is relayed
  // to them in seen/<id>. False on SQLite, where the one process always
  // leads and has no one to tell.
  bool replicated = false;
};

class NodeRegistry {
 public:
  // Loads the persisted nodes.
  static Result<std::unique_ptr<NodeRegistry>> Open(Store& store, EventLog& events,
                                                    NodeRegistryOptions options);

  // A new node, admitted with the join token: stored with a fresh
  // credential, up. Returns its secret — the only time the secret exists
  // outside the node. AlreadyExists when `reg.node_id` is registered (up or
  // down): only that node's own credential registers it again, or an
  // operator removes it first. A removed id, or a node stored before node
  // credentials existed, is admitted as new.
  Result<std::string> Admit(NodeRegistration reg);
  // A known node registering again, after the caller Authenticate()d it:
  // url, labels and capacity replaced, ready map cleared, the node is up.
  // NotFound when it is not registered (any more); PermissionDenied when it
  // was removed.
  Status Register(NodeRegistration reg);
  // OK when `secret` is `node_id`'s credential. NotFound: no such node (it
  // never registered, the store was replaced, or it has no credential yet):
  // the engine joins again with the join token. PermissionDenied: a wrong
  // secret, or a node an operator removed (the message says which).
  // Reads the node's row from the store before refusing: it may have
  // joined (again) through another replica.
  Status Authenticate(std::string_view node_id, std::string_view secret);
  // Revokes `node_id` (DELETE /api/nodes/{id}): its credential is refused
  // at once, it leaves the list (so the gateway and the orchestrator stop
  // using it, as for a dead node), and `node_removed` is recorded with
  // `source`. NotFound for an unknown node.
  Status Remove(const std::string& node_id, const std::string& source);
  // Cordons ("cordoned": no new workflow instances), drains ("draining":
  // none, and the orchestrator moves those there away; the gateway sends
  // it requests only when no other node has the function ready) or
  // uncordons ("active") `node_id`, and records node_cordoned /
  // node_draining / node_uncordoned with `source`. Unchanged: nothing
  // written or recorded. NotFound for an unknown node, InvalidArgument for
  // another value.
  Status SetScheduling(const std::string& node_id, std::string_view scheduling,
                       const std::string& source);
  // SHA-256 (hex) of the dataplane token `sender` sends to `receiver`
  // (node_credential.h's PairToken), for the receiver's list of peers;
  // nullopt when `sender` is not registered.
  std::optional<std::string> PairTokenDigest(const std::string& sender,
                                             const std::string& receiver) const;
  // NotFound for a node that never registered (the engine then
  // re-registers), PermissionDenied for a removed one. A down node comes
  // back up.
  Status Beat(Heartbeat beat);
  // A node stopping gracefully (POST /node/leave): down at once, as a
  // silent one is after node_timeout — the gateway stops routing there and
  // the orchestrator moves its workflow instances now — and `node_down` is
  // recorded with "reason": "left". It comes back up when it registers or
  // beats again. Nothing changes for a node already down. NotFound for an
  // unknown node. With replicas, the leader (which decides liveness) takes
  // it from the stored row only when it is the replica that heard it;
  // otherwise the node goes down there after node_timeout as before.
  Status Leave(const std::string& node_id);
  // Takes what other replicas changed (Sync), then marks nodes silent for
  // node_timeout down (on the leader only, when options.leader is set).
  // Call periodically.
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
    Clock::TimePoint last_seen;
    // What the store keeps of the credential; both empty for a node stored
    // before node credentials existed.
    std::string credential_sha256;
    std::string dataplane_key;
    Clock::TimePoint relayed{};                        // when it last wrote seen/<id>
    std::map<std::string, std::string> relayed_ready;  // the ready map it wrote there
    Clock::TimePoint heard{};  // its last beat to this replica (not relayed)
  };
  NodeRegistry(Store& store, EventLog& events, NodeRegistryOptions options)
      : store_(store), events_(events), options_(std::move(options)) {}
  // Writes the node's row, its tombstone, or deletes the key: whichever is
  // current in memory.
  Status Persist(const std::string& node_id);
  Status Persist(const std::string& node_id, Store& store);
  // At Open: the stored nodes, each with a node_timeout of grace.
  Status Load();
  // A new term's leader: every node gets a node_timeout of grace.
  void GraceAll();
  // Under mu_: a stored row newer than what this replica wrote or took —
  // a node that joined, joined again (new credential) or was removed
  // through another replica — replaces memory's; liveness stays this
  // replica's own. True when memory changed.
  bool Adopt(const std::string& key, const std::string& value, int64_t revision);
  // Adopt of the node's row as the store has it now. Unavailable when the
  // store cannot be read (the caller must not take the node for unknown),
  // or when more than kMaxRefreshesPerSecond were asked for: an id that
  // memory does not know costs a store read, and anyone can name one.
  Status RefreshNode(std::string_view node_id);
  // Adopt of every row, when meta/nodes moved since the last Sync (else one
  // Get): how removals made through another replica reach this one.
  void Sync();
  Status CheckCredential(std::string_view node_id, std::string_view secret) const;
  // The leader: nodes whose seen/<id> a follower rewrote since the last
  // look beat just now (a down one comes up, written through `store`).
  // `leader` null (a follower): only the ready maps of nodes this replica
  // does not hear are taken; liveness is the leader's.
  void TakeRelayedBeats(Store* leader);
  // Whether a beat of `n` reached this replica directly within the relay
  // interval (node_timeout / 3): its own view of the node is then as new
  // as any other replica's. Under mu_.
  bool HearsItself(const Node& n, Clock::TimePoint now) const;
  // This replica's id in relayed records ("" for one process).
  const std::string& ReplicaId() const;
  void Record(const std::string& type, const std::string& source, const std::string& node_id,
              const std::string& url, std::string_view reason);
  void Record(const std::string& type, const std::string& source, const std::string& node_id,
              const std::string& url);
  // Under mu_: the node's new state after a (re-)registration.
  NodeStatus Registered(Node& n, NodeRegistration reg);
  // Under mu_, for an id not in nodes_: PermissionDenied when it was
  // removed, else NotFound.
  Status Missing(std::string_view node_id) const;

  Store& store_;
  EventLog& events_;
  NodeRegistryOptions options_;
  std::mutex persist_mu_;  // taken before mu_, never while holding it
  mutable std::mutex mu_;
  std::map<std::string, Node, std::less<>> nodes_;
  std::map<std::string, std::string, std::less<>> removed_;  // node id -> removed_at (RFC 3339)
  uint64_t rotation_ = 0;  // breaks ties between equally loaded nodes
  Fence adopted_term_;     // Sweep's thread only: the term GraceAll() started
  std::map<std::string, int64_t, std::less<>> relayed_;  // under mu_: seen/<id> revisions taken
  // Under mu_: the revision of each node's row that memory reflects.
  std::map<std::string, int64_t, std::less<>> stored_revision_;
  int64_t synced_revision_ = -1;  // Sweep's thread only: meta/nodes at the last Sync
  // RefreshNode's store reads in the current second (they run on the HTTP
  // IO threads, for any X-Aether-Node a request names): at most
  // kMaxRefreshesPerSecond, the rest answered Unavailable.
  std::mutex refresh_mu_;
  Clock::TimePoint refresh_window_{};
  int refreshes_ = 0;
};

}  // namespace aether::control
