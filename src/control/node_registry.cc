#include "control/node_registry.h"

#include <boost/json.hpp>
#include <limits>

#include "common/json_util.h"
#include "common/log.h"
#include "common/node_credential.h"
#include "common/sha256.h"
#include "control/auth.h"

namespace aether::control {
namespace {

namespace json = boost::json;

constexpr std::string_view kNodesPrefix = "nodes/";
constexpr std::string_view kSeenPrefix = "seen/";  // relayed heartbeats (see the header)
// Store reads for node ids memory does not know (RefreshNode): enough for
// a fleet's engines moving to this replica at once, not for a flood.
constexpr int kMaxRefreshesPerSecond = 50;
// Rewritten with every node row: a replica whose Sync finds it moved
// reads the rows again (one Get per sweep otherwise).
constexpr std::string_view kNodesChanged = "meta/nodes";

std::string NodeKey(const std::string& id) { return std::string(kNodesPrefix) + id; }

constexpr std::string_view kRemoved = "removed";

// 16 hex digits of SHA-256(dataplane key): names a credential without
// revealing anything of it.
std::string CredentialId(const std::string& dataplane_key) {
  return dataplane_key.empty() ? std::string() : Sha256Hex(dataplane_key).substr(0, 16);
}

std::string EncodeNode(const NodeStatus& s, const std::string& credential_sha256,
                       const std::string& dataplane_key) {
  json::object labels;
  for (const auto& [k, v] : s.reg.labels) labels[k] = v;
  return ToJson(json::object{{"node_id", s.reg.node_id},
                             {"url", s.reg.url},
                             {"labels", std::move(labels)},
                             {"capacity", protocol::CapacityObject(s.reg.capacity)},
                             {"state", s.up ? "up" : "down"},
                             {"scheduling", s.scheduling},
                             {"registered_at", s.registered_at},
                             {"last_heartbeat", s.last_heartbeat},
                             {"credential_sha256", credential_sha256},
                             {"dataplane_key", dataplane_key}});
}

std::string EncodeRemoved(const std::string& node_id, const std::string& removed_at) {
  return ToJson(
      json::object{{"node_id", node_id}, {"state", kRemoved}, {"removed_at", removed_at}});
}

struct Decoded {
  NodeStatus status;
  std::string credential_sha256, dataplane_key;
  bool removed = false;
  std::string removed_at;
};

Result<Decoded> Decode(const std::string& text) {
  ASSIGN_OR_RETURN(json::object o, ParseJsonObject(text, "stored node"));
  Decoded d;
  NodeStatus& s = d.status;
  ASSIGN_OR_RETURN(s.reg.node_id, GetString(o, "node_id"));
  ASSIGN_OR_RETURN(std::string state, GetString(o, "state", "down"));
  if (state == kRemoved) {
    d.removed = true;
    ASSIGN_OR_RETURN(d.removed_at, GetString(o, "removed_at", ""));
    return d;
  }
  ASSIGN_OR_RETURN(s.reg.url, GetString(o, "url"));
  s.up = state == "up";
  ASSIGN_OR_RETURN(s.scheduling, GetString(o, "scheduling", std::string(kSchedulingActive)));
  if (!ValidScheduling(s.scheduling)) s.scheduling = std::string(kSchedulingActive);
  ASSIGN_OR_RETURN(s.registered_at, GetString(o, "registered_at", ""));
  ASSIGN_OR_RETURN(s.last_heartbeat, GetString(o, "last_heartbeat", ""));
  ASSIGN_OR_RETURN(d.credential_sha256, GetString(o, "credential_sha256", ""));
  ASSIGN_OR_RETURN(d.dataplane_key, GetString(o, "dataplane_key", ""));
  s.credential_id = CredentialId(d.dataplane_key);
  if (auto* l = o.if_contains("labels"); l && l->is_object()) {
    for (const auto& [k, v] : l->get_object()) {
      if (v.is_string()) s.reg.labels.emplace(std::string(k), std::string(v.get_string()));
    }
  }
  if (auto* c = o.if_contains("capacity"); c && c->is_object()) s.reg.capacity = ToJson(*c);
  return d;
}

std::string RemovedMessage(std::string_view node_id, const std::string& removed_at) {
  return "node " + std::string(node_id) + " was removed by an operator (aether nodes rm" +
         (removed_at.empty() ? "" : ", at " + removed_at) +
         "); its credential is revoked. To join again, delete node.credential in the engine's "
         "data_dir and restart it";
}

}  // namespace

std::string_view SchedulingOf(std::string_view action) {
  return action == "cordon"     ? kSchedulingCordoned
         : action == "uncordon" ? kSchedulingActive
         : action == "drain"    ? kSchedulingDraining
                                : std::string_view();
}

bool ValidScheduling(std::string_view s) {
  return s == kSchedulingActive || s == kSchedulingCordoned || s == kSchedulingDraining;
}

Result<std::unique_ptr<NodeRegistry>> NodeRegistry::Open(Store& store, EventLog& events,
                                                         NodeRegistryOptions options) {
  if (!options.new_secret) options.new_secret = [] { return GenerateToken(); };
  std::unique_ptr<NodeRegistry> reg(new NodeRegistry(store, events, std::move(options)));
  RETURN_IF_ERROR(reg->Load());
  return reg;
}

Status NodeRegistry::Load() {
  ASSIGN_OR_RETURN(auto kvs, store_.List(kNodesPrefix));
  std::lock_guard lock(mu_);
  auto now = options_.clock->Now();
  for (const KeyValue& kv : kvs) {
    Result<Decoded> d = Decode(kv.value);
    if (!d.ok()) {
      LOG_WARN("skipping an unreadable node record {}: {}", kv.key, d.status().message());
      continue;
    }
    std::string id = d->status.reg.node_id;
    if (d->removed) {
      removed_[id] = d->removed_at;
      continue;
    }
    // Grace: a node that was up gets a full node_timeout to beat again.
    Node& n = nodes_[id];
    n.status = std::move(d->status);
    n.last_seen = now;
    n.credential_sha256 = std::move(d->credential_sha256);
    n.dataplane_key = std::move(d->dataplane_key);
    stored_revision_[id] = kv.mod_revision;
  }
  return OkStatus();
}

bool NodeRegistry::Adopt(const std::string& key, const std::string& value, int64_t revision) {
  Result<Decoded> d = Decode(value);
  if (!d.ok()) {
    LOG_WARN("skipping an unreadable node record {}: {}", key, d.status().message());
    return false;
  }
  const std::string id = d->status.reg.node_id;
  // Not newer than what this replica wrote or took: memory is as new
  // (a change of ours may even be on its way to the store).
  int64_t& known = stored_revision_[id];
  if (revision <= known) return false;
  known = revision;
  if (d->removed) {
    if (nodes_.erase(id) > 0) LOG_WARN("node {} was removed through another replica", id);
    removed_[id] = d->removed_at;
    return true;
  }
  removed_.erase(id);
  auto [it, added] = nodes_.try_emplace(id);
  Node& n = it->second;
  // The same credential: an operator's scheduling is taken, and up/down
  // (the leader's decision, or a node's leave) for a node this replica does
  // not hear itself; for one it hears, its own view is as new.
  if (!added && n.credential_sha256 == d->credential_sha256) {
    bool changed = false;
    if (n.status.scheduling != d->status.scheduling) {
      n.status.scheduling = std::move(d->status.scheduling);
      changed = true;
    }
    auto now = options_.clock->Now();
    if (!HearsItself(n, now) && n.status.up != d->status.up) {
      n.status.up = d->status.up;
      n.last_seen = now;  // up: a node_timeout of grace, as for any adopted node
      if (!n.status.up) n.status.ready.clear();
      changed = true;
    }
    return changed;
  }
  n.status = std::move(d->status);
  n.credential_sha256 = std::move(d->credential_sha256);
  n.dataplane_key = std::move(d->dataplane_key);
  // Grace, as after a restart: a node_timeout to beat here.
  n.last_seen = options_.clock->Now();
  return true;
}

void NodeRegistry::GraceAll() {
  std::lock_guard lock(mu_);
  auto now = options_.clock->Now();
  for (auto& [id, n] : nodes_) n.last_seen = now;
}

Status NodeRegistry::RefreshNode(std::string_view node_id) {
  {
    std::lock_guard lock(refresh_mu_);
    Clock::TimePoint now = options_.clock->Now();
    if (now - refresh_window_ >= std::chrono::seconds(1)) {
      refresh_window_ = now;
      refreshes_ = 0;
    }
    if (++refreshes_ > kMaxRefreshesPerSecond) {
      return Unavailable("too many requests for nodes this replica does not know; retry");
    }
  }
  Result<std::optional<KeyValue>> kv = store_.Get(NodeKey(std::string(node_id)));
  if (!kv.ok()) {
    // Not "unknown node": an engine told that joins again as a new node,
    // and the node may well be registered (through another replica).
    return Unavailable("cannot read node " + std::string(node_id) +
                       " from the store: " + kv.status().message());
  }
  if (!kv->has_value()) return OkStatus();
  std::lock_guard lock(mu_);
  Adopt((*kv)->key, (*kv)->value, (*kv)->mod_revision);
  return OkStatus();
}

void NodeRegistry::Sync() {
  Result<std::optional<KeyValue>> mark = store_.Get(kNodesChanged);
  if (!mark.ok()) {
    LOG_WARN("checking for node changes: {}", mark.status().message());
    return;
  }
  int64_t revision = mark->has_value() ? (*mark)->mod_revision : 0;
  if (revision == synced_revision_) return;
  Result<std::vector<KeyValue>> kvs = store_.List(kNodesPrefix);
  if (!kvs.ok()) {
    LOG_WARN("reading the nodes: {}", kvs.status().message());
    return;
  }
  std::lock_guard lock(mu_);
  for (const KeyValue& kv : *kvs) Adopt(kv.key, kv.value, kv.mod_revision);
  synced_revision_ = revision;
}

Status NodeRegistry::Persist(const std::string& node_id) { return Persist(node_id, store_); }

Status NodeRegistry::Persist(const std::string& node_id, Store& store) {
  // Writes are serialized and always take the newest state, so two
  // transitions racing to the store cannot land in the wrong order.
  std::lock_guard persist(persist_mu_);
  std::string value;
  bool gone = false;
  {
    std::lock_guard lock(mu_);
    if (auto it = nodes_.find(node_id); it != nodes_.end()) {
      value = EncodeNode(it->second.status, it->second.credential_sha256, it->second.dataplane_key);
    } else {
      gone = true;
      if (auto r = removed_.find(node_id); r != removed_.end()) {
        value = EncodeRemoved(node_id, r->second);
      }
    }
  }
  TxnRequest txn;
  txn.ops.push_back(value.empty() ? Op::Delete(NodeKey(node_id))
                                  : Op::Put(NodeKey(node_id), std::move(value)));
  txn.ops.push_back(Op::Put(std::string(kNodesChanged), ""));
  // A removed node's relayed beats go with it (no key left behind per node).
  if (gone) txn.ops.push_back(Op::Delete(std::string(kSeenPrefix) + node_id));
  ASSIGN_OR_RETURN(TxnResult r, store.Txn(txn));
  if (!r.succeeded) return Unavailable("the write of node " + node_id + " was refused");
  std::lock_guard lock(mu_);
  int64_t& known = stored_revision_[node_id];
  known = std::max(known, r.revision);
  return OkStatus();
}

void NodeRegistry::Record(const std::string& type, const std::string& source,
                          const std::string& node_id, const std::string& url,
                          std::string_view reason) {
  json::object data{{"node_id", node_id}, {"url", url}};
  if (!reason.empty()) data["reason"] = reason;
  auto r = events_.Append(type, source, ToJson(data));
  if (!r.ok()) LOG_WARN("recording {}: {}", type, r.status().message());
}

void NodeRegistry::Record(const std::string& type, const std::string& source,
                          const std::string& node_id, const std::string& url) {
  Record(type, source, node_id, url, {});
}

NodeStatus NodeRegistry::Registered(Node& n, NodeRegistration reg) {
  if (n.status.registered_at.empty()) n.status.registered_at = Rfc3339(options_.clock->WallNow());
  n.status.reg = std::move(reg);
  n.status.up = true;
  n.status.ready.clear();
  n.status.last_heartbeat = Rfc3339(options_.clock->WallNow());
  n.last_seen = options_.clock->Now();
  return n.status;
}

Result<std::string> NodeRegistry::Admit(NodeRegistration reg) {
  ASSIGN_OR_RETURN(std::string secret, options_.new_secret());
  // It may have joined through another replica since this one looked.
  if (!Has(reg.node_id)) RETURN_IF_ERROR(RefreshNode(reg.node_id));
  NodeStatus snapshot;
  {
    std::lock_guard lock(mu_);
    auto it = nodes_.find(reg.node_id);
    // A row without a credential was stored before node credentials
    // existed: the join token admits it once, which is how such a fleet
    // upgrades.
    if (it != nodes_.end() && !it->second.credential_sha256.empty()) {
      return AlreadyExists("node " + reg.node_id + " is already registered");
    }
    removed_.erase(reg.node_id);
    Node& n = nodes_[reg.node_id];
    n.status = NodeStatus{};
    n.credential_sha256 = CredentialDigest(secret);
    n.dataplane_key = DataplaneKey(secret);
    n.status.credential_id = CredentialId(n.dataplane_key);
    snapshot = Registered(n, std::move(reg));
  }
  RETURN_IF_ERROR(Persist(snapshot.reg.node_id));
  LOG_INFO("node {} joined at {} (a new credential was issued)", snapshot.reg.node_id,
           snapshot.reg.url);
  Record("node_registered", "control", snapshot.reg.node_id, snapshot.reg.url);
  return secret;
}

Status NodeRegistry::Missing(std::string_view node_id) const {
  if (auto r = removed_.find(node_id); r != removed_.end()) {
    return PermissionDenied(RemovedMessage(node_id, r->second));
  }
  return NotFound("node " + std::string(node_id) + " is not registered");
}

Status NodeRegistry::Register(NodeRegistration reg) {
  if (!Has(reg.node_id)) RETURN_IF_ERROR(RefreshNode(reg.node_id));
  NodeStatus snapshot;
  {
    std::lock_guard lock(mu_);
    auto it = nodes_.find(reg.node_id);
    if (it == nodes_.end()) return Missing(reg.node_id);
    snapshot = Registered(it->second, std::move(reg));
  }
  RETURN_IF_ERROR(Persist(snapshot.reg.node_id));
  LOG_INFO("node {} registered at {}", snapshot.reg.node_id, snapshot.reg.url);
  Record("node_registered", "control", snapshot.reg.node_id, snapshot.reg.url);
  return OkStatus();
}

Status NodeRegistry::Authenticate(std::string_view node_id, std::string_view secret) {
  // What memory refuses, the store may know better: the node joined, or
  // joined again with a new credential, through another replica.
  if (Status st = CheckCredential(node_id, secret); st.ok()) return st;
  RETURN_IF_ERROR(RefreshNode(node_id));
  return CheckCredential(node_id, secret);
}

Status NodeRegistry::CheckCredential(std::string_view node_id, std::string_view secret) const {
  std::lock_guard lock(mu_);
  auto it = nodes_.find(node_id);
  if (it == nodes_.end()) return Missing(node_id);
  if (it->second.credential_sha256.empty()) {
    return NotFound("node " + std::string(node_id) +
                    " has no credential yet (it registered before node credentials existed)");
  }
  if (!MatchesDigest(secret, it->second.credential_sha256)) {
    return PermissionDenied("invalid credential for node " + std::string(node_id));
  }
  return OkStatus();
}

Status NodeRegistry::Remove(const std::string& node_id, const std::string& source) {
  std::string url;
  {
    std::lock_guard lock(mu_);
    auto it = nodes_.find(node_id);
    if (it == nodes_.end()) return NotFound("no node " + node_id);
    url = it->second.status.reg.url;
    nodes_.erase(it);
    removed_[node_id] = Rfc3339(options_.clock->WallNow());
  }
  RETURN_IF_ERROR(Persist(node_id));
  LOG_WARN("node {} removed: its credential is revoked", node_id);
  Record("node_removed", source, node_id, url);
  return OkStatus();
}

Status NodeRegistry::SetScheduling(const std::string& node_id, std::string_view scheduling,
                                   const std::string& source) {
  if (!ValidScheduling(scheduling)) {
    return InvalidArgument("scheduling must be active, cordoned or draining, not \"" +
                           std::string(scheduling.substr(0, 32)) + "\"");
  }
  if (!Has(node_id)) RETURN_IF_ERROR(RefreshNode(node_id));
  std::string url;
  {
    std::lock_guard lock(mu_);
    auto it = nodes_.find(node_id);
    if (it == nodes_.end()) return NotFound("no node " + node_id);
    NodeStatus& s = it->second.status;
    if (s.scheduling == scheduling) return OkStatus();
    s.scheduling = std::string(scheduling);
    url = s.reg.url;
  }
  RETURN_IF_ERROR(Persist(node_id));
  std::string type = scheduling == kSchedulingActive     ? "node_uncordoned"
                     : scheduling == kSchedulingCordoned ? "node_cordoned"
                                                         : "node_draining";
  LOG_INFO("node {} {}", node_id, scheduling == kSchedulingActive ? "uncordoned" : scheduling);
  Record(type, source, node_id, url);
  return OkStatus();
}

std::optional<std::string> NodeRegistry::PairTokenDigest(const std::string& sender,
                                                         const std::string& receiver) const {
  std::lock_guard lock(mu_);
  auto it = nodes_.find(sender);
  if (it == nodes_.end() || it->second.dataplane_key.empty()) return std::nullopt;
  return Sha256Hex(PairToken(it->second.dataplane_key, receiver));
}

Status NodeRegistry::Beat(Heartbeat beat) {
  if (!Has(beat.node_id)) RETURN_IF_ERROR(RefreshNode(beat.node_id));
  NodeStatus snapshot;
  bool came_up = false;
  bool relay = false;
  std::string relay_record;
  bool follower = options_.leader != nullptr && !options_.leader->IsLeader();
  {
    std::lock_guard lock(mu_);
    auto it = nodes_.find(beat.node_id);
    if (it == nodes_.end()) return Missing(beat.node_id);
    Node& n = it->second;
    came_up = !n.status.up;
    n.status.up = true;
    n.status.load = beat.load;
    n.status.ready = std::move(beat.ready);
    n.status.cached = beat.cached;
    n.status.last_heartbeat = Rfc3339(options_.clock->WallNow());
    n.last_seen = options_.clock->Now();
    n.heard = n.last_seen;
    if (came_up) snapshot = n.status;
    if (options_.replicated &&
        ((follower && n.last_seen - n.relayed >= options_.node_timeout / 3) ||
         n.status.ready != n.relayed_ready)) {
      n.relayed = n.last_seen;
      n.relayed_ready = n.status.ready;
      relay = true;
      json::object ready;
      for (const auto& [fn, sha] : n.status.ready) ready[fn] = sha;
      relay_record = ToJson(json::object{
          {"ready", std::move(ready)}, {"at", n.status.last_heartbeat}, {"by", ReplicaId()}});
    }
  }
  if (came_up) {
    LOG_INFO("node {} is up again", snapshot.reg.node_id);
    if (Status st = Persist(snapshot.reg.node_id); !st.ok())
      LOG_WARN("persisting node state: {}", st.message());
    Record("node_up", "control", snapshot.reg.node_id, snapshot.reg.url);
  }
  if (relay) {
    // The leader decides liveness and hears this node only through the
    // store: a write of seen/<id> every node_timeout / 3 at most, and when
    // its ready map changed (for every replica's gateway).
    if (auto r = store_.Put(std::string(kSeenPrefix) + beat.node_id, relay_record); !r.ok()) {
      LOG_WARN("relaying node {}'s heartbeat to the leader: {}", beat.node_id,
               r.status().message());
    }
  }
  return OkStatus();
}

bool NodeRegistry::HearsItself(const Node& n, Clock::TimePoint now) const {
  return n.heard != Clock::TimePoint{} && now - n.heard < options_.node_timeout / 3;
}

const std::string& NodeRegistry::ReplicaId() const {
  static const std::string kNone;
  return options_.leader != nullptr ? options_.leader->leadership().replica_id() : kNone;
}

void NodeRegistry::TakeRelayedBeats(Store* leader) {
  Result<std::vector<KeyValue>> seen = store_.List(kSeenPrefix);
  if (!seen.ok()) {
    LOG_WARN("reading relayed heartbeats: {}", seen.status().message());
    return;
  }
  std::vector<NodeStatus> came_up;
  {
    std::lock_guard lock(mu_);
    auto now = options_.clock->Now();
    for (const KeyValue& kv : *seen) {
      std::string id = kv.key.substr(kSeenPrefix.size());
      auto [known, first_sight] = relayed_.try_emplace(id, 0);
      if (known->second == kv.mod_revision) continue;
      known->second = kv.mod_revision;
      // A node registered at a follower is known here once Sync took its
      // row (its write moved meta/nodes).
      auto it = nodes_.find(id);
      if (it == nodes_.end()) continue;
      Node& n = it->second;
      // An empty record is liveness only (a replica older than ready maps).
      Result<json::object> o =
          kv.value.empty() ? json::object{} : ParseJsonObject(kv.value, "relayed heartbeat");
      if (!o.ok()) continue;
      // What this replica relayed itself (before a restart, say) tells it
      // nothing it did not hear.
      const json::value* by = o->if_contains("by");
      if (by != nullptr && by->is_string() && by->as_string() == ReplicaId()) continue;
      // The ready map, unless this replica hears the node itself (its own
      // view is as new).
      if (!HearsItself(n, now)) {
        if (const json::value* ready = o->if_contains("ready"); ready && ready->is_object()) {
          n.status.ready.clear();
          for (const auto& [fn, sha] : ready->as_object()) {
            if (sha.is_string()) n.status.ready[std::string(fn)] = std::string(sha.as_string());
          }
        }
        if (const json::value* at = o->if_contains("at"); at && at->is_string()) {
          n.status.last_heartbeat = std::string(at->as_string());
        }
      }
      // Liveness is the leader's, and only from a record that changed while
      // it looked: one it finds on its first look may be from long ago.
      if (leader == nullptr || first_sight) continue;
      n.last_seen = now;
      if (!n.status.up) {
        n.status.up = true;
        came_up.push_back(n.status);
      }
    }
  }
  for (const NodeStatus& s : came_up) {
    LOG_INFO("node {} is up again (heartbeats through another replica)", s.reg.node_id);
    if (Status st = Persist(s.reg.node_id, *leader); !st.ok()) {
      LOG_WARN("persisting node state: {}", st.message());
      continue;
    }
    Record("node_up", "control", s.reg.node_id, s.reg.url);
  }
}

Status NodeRegistry::Leave(const std::string& node_id) {
  if (!Has(node_id)) RETURN_IF_ERROR(RefreshNode(node_id));
  std::string url;
  {
    std::lock_guard lock(mu_);
    auto it = nodes_.find(node_id);
    if (it == nodes_.end()) return Missing(node_id);
    NodeStatus& s = it->second.status;
    if (!s.up) return OkStatus();
    s.up = false;
    s.ready.clear();
    it->second.relayed_ready.clear();
    url = s.reg.url;
  }
  LOG_INFO("node {} left (stopped gracefully)", node_id);
  Store* store = &store_;
  if (options_.leader != nullptr && options_.leader->IsLeader()) store = options_.leader;
  if (Status st = Persist(node_id, *store); !st.ok()) {
    LOG_WARN("persisting node state: {}", st.message());
  }
  Record("node_down", "control", node_id, url, "left");
  return OkStatus();
}

void NodeRegistry::Sweep() {
  // Every replica: nodes that joined, joined again or were removed through
  // another one (a removal must be refused here too, and soon).
  Sync();
  Store* store = &store_;
  if (FencedStore* leader = options_.leader) {
    std::optional<Fence> term = leader->leadership().Term();
    if (!term) {  // a follower: the leader sweeps
      TakeRelayedBeats(nullptr);
      return;
    }
    store = leader;
    if (*term != adopted_term_) {
      // A new term: this replica heard only the nodes that beat to it (Sync
      // above took every stored one); each gets a node_timeout of grace, as
      // after a restart, to reach the new leader.
      GraceAll();
      adopted_term_ = *term;
    }
    if (options_.replicated) TakeRelayedBeats(leader);
  }
  std::vector<NodeStatus> went_down;
  {
    std::lock_guard lock(mu_);
    auto now = options_.clock->Now();
    for (auto& [id, n] : nodes_) {
      if (n.status.up && now - n.last_seen >= options_.node_timeout) {
        n.status.up = false;
        n.status.ready.clear();  // a node that comes back re-reports
        // ... and its ready map is relayed again then: other replicas took
        // this down and cleared theirs.
        n.relayed_ready.clear();
        went_down.push_back(n.status);
      }
    }
  }
  for (const NodeStatus& s : went_down) {
    LOG_WARN("node {} is down (no heartbeat for {} ms)", s.reg.node_id,
             std::chrono::duration_cast<std::chrono::milliseconds>(options_.node_timeout).count());
    if (Status st = Persist(s.reg.node_id, *store); !st.ok()) {
      LOG_WARN("persisting node state: {}", st.message());
      // Fenced out: another replica leads now and sweeps with its own view.
      if (options_.leader != nullptr && !options_.leader->IsLeader()) continue;
    }
    Record("node_down", "control", s.reg.node_id, s.reg.url);
  }
}

std::vector<NodeStatus> NodeRegistry::List() const {
  std::lock_guard lock(mu_);
  std::vector<NodeStatus> out;
  out.reserve(nodes_.size());
  for (const auto& [id, n] : nodes_) out.push_back(n.status);
  return out;
}

bool NodeRegistry::Has(const std::string& node_id) const {
  std::lock_guard lock(mu_);
  return nodes_.contains(node_id);
}

NodeRegistry::Counts NodeRegistry::Count() const {
  std::lock_guard lock(mu_);
  Counts c;
  for (const auto& [id, n] : nodes_) (n.status.up ? c.up : c.down)++;
  return c;
}

std::optional<NodePick> NodeRegistry::Pick(const std::string& function, const std::string& sha256,
                                           const std::vector<std::string>& exclude) {
  std::lock_guard lock(mu_);
  Node* best = nullptr;
  int64_t best_score = std::numeric_limits<int64_t>::max();
  // Rotate the starting point so that ties spread over nodes instead of
  // always landing on the first in id order.
  size_t start = nodes_.empty() ? 0 : rotation_++ % nodes_.size();
  auto it = nodes_.begin();
  std::advance(it, start);
  for (size_t i = 0; i < nodes_.size(); ++i, ++it) {
    if (it == nodes_.end()) it = nodes_.begin();
    Node& n = it->second;
    if (!n.status.up) continue;
    auto r = n.status.ready.find(function);
    if (r == n.status.ready.end() || r->second != sha256) continue;
    bool excluded = false;
    for (const auto& e : exclude) excluded |= e == it->first;
    if (excluded) continue;
    int64_t score = n.status.gateway_inflight + n.status.load.inflight + n.status.load.queue;
    // A draining node is on its way out of service: only when no other has it.
    if (n.status.scheduling == kSchedulingDraining) score += int64_t{1} << 40;
    if (score < best_score) {
      best_score = score;
      best = &n;
    }
  }
  if (!best) return std::nullopt;
  ++best->status.gateway_inflight;
  return NodePick{best->status.reg.node_id, best->status.reg.url};
}

void NodeRegistry::Release(const std::string& node_id) {
  std::lock_guard lock(mu_);
  auto it = nodes_.find(node_id);
  if (it != nodes_.end() && it->second.status.gateway_inflight > 0)
    --it->second.status.gateway_inflight;
}

}  // namespace aether::control
