#include "control/node_registry.h"

#include <boost/json.hpp>

#include <limits>

#include "common/json_util.h"
#include "common/log.h"

namespace aether::control {
namespace {

namespace json = boost::json;

constexpr std::string_view kNodesPrefix = "nodes/";

std::string NodeKey(const std::string& id) { return std::string(kNodesPrefix) + id; }

std::string Encode(const NodeStatus& s) {
  json::object labels;
  for (const auto& [k, v] : s.reg.labels) labels[k] = v;
  return ToJson(json::object{{"node_id", s.reg.node_id}, {"url", s.reg.url},
                             {"labels", std::move(labels)}, {"capacity", s.reg.capacity},
                             {"state", s.up ? "up" : "down"}, {"registered_at", s.registered_at},
                             {"last_heartbeat", s.last_heartbeat}});
}

Result<NodeStatus> Decode(const std::string& text) {
  ASSIGN_OR_RETURN(json::object o, ParseJsonObject(text, "stored node"));
  NodeStatus s;
  ASSIGN_OR_RETURN(s.reg.node_id, GetString(o, "node_id"));
  ASSIGN_OR_RETURN(s.reg.url, GetString(o, "url"));
  ASSIGN_OR_RETURN(std::string state, GetString(o, "state", "down"));
  s.up = state == "up";
  ASSIGN_OR_RETURN(s.registered_at, GetString(o, "registered_at", ""));
  ASSIGN_OR_RETURN(s.last_heartbeat, GetString(o, "last_heartbeat", ""));
  if (auto* l = o.if_contains("labels"); l && l->is_object()) {
    for (const auto& [k, v] : l->get_object()) {
      if (v.is_string()) s.reg.labels.emplace(std::string(k), std::string(v.get_string()));
    }
  }
  if (auto* c = o.if_contains("capacity"); c && c->is_object()) s.reg.capacity = c->get_object();
  return s;
}

}  // namespace

Result<std::unique_ptr<NodeRegistry>> NodeRegistry::Open(Store& store, EventLog& events,
                                                         NodeRegistryOptions options) {
  std::unique_ptr<NodeRegistry> reg(new NodeRegistry(store, events, std::move(options)));
  ASSIGN_OR_RETURN(auto kvs, store.List(kNodesPrefix));
  auto now = reg->options_.now();
  for (const KeyValue& kv : kvs) {
    Result<NodeStatus> s = Decode(kv.value);
    if (!s.ok()) {
      LOG_WARN("skipping an unreadable node record {}: {}", kv.key, s.status().message());
      continue;
    }
    // Grace: a node that was up gets a full node_timeout to beat again.
    std::string id = s->reg.node_id;
    reg->nodes_[id] = Node{std::move(*s), now};
  }
  return reg;
}

Status NodeRegistry::Persist(const std::string& node_id) {
  // Writes are serialized and always take the newest state, so two
  // transitions racing to the store cannot land in the wrong order.
  std::lock_guard persist(persist_mu_);
  NodeStatus s;
  {
    std::lock_guard lock(mu_);
    auto it = nodes_.find(node_id);
    if (it == nodes_.end()) return OkStatus();
    s = it->second.status;
  }
  return store_.Put(NodeKey(s.reg.node_id), Encode(s)).status();
}

void NodeRegistry::Record(const std::string& type, const std::string& node_id,
                          const std::string& url) {
  auto r = events_.Append(type, "control", json::object{{"node_id", node_id}, {"url", url}});
  if (!r.ok()) LOG_WARN("recording {}: {}", type, r.status().message());
}

Status NodeRegistry::Register(NodeRegistration reg) {
  NodeStatus snapshot;
  {
    std::lock_guard lock(mu_);
    Node& n = nodes_[reg.node_id];
    if (n.status.registered_at.empty()) n.status.registered_at = NowRfc3339();
    n.status.reg = std::move(reg);
    n.status.up = true;
    n.status.ready.clear();
    n.status.last_heartbeat = NowRfc3339();
    n.last_seen = options_.now();
    snapshot = n.status;
  }
  RETURN_IF_ERROR(Persist(snapshot.reg.node_id));
  LOG_INFO("node {} registered at {}", snapshot.reg.node_id, snapshot.reg.url);
  Record("node_registered", snapshot.reg.node_id, snapshot.reg.url);
  return OkStatus();
}

Status NodeRegistry::Beat(Heartbeat beat) {
  NodeStatus snapshot;
  bool came_up = false;
  {
    std::lock_guard lock(mu_);
    auto it = nodes_.find(beat.node_id);
    if (it == nodes_.end()) return NotFound("node " + beat.node_id + " is not registered");
    Node& n = it->second;
    came_up = !n.status.up;
    n.status.up = true;
    n.status.load = beat.load;
    n.status.ready = std::move(beat.ready);
    n.status.cached = beat.cached;
    n.status.last_heartbeat = NowRfc3339();
    n.last_seen = options_.now();
    if (came_up) snapshot = n.status;
  }
  if (came_up) {
    LOG_INFO("node {} is up again", snapshot.reg.node_id);
    if (Status st = Persist(snapshot.reg.node_id); !st.ok()) LOG_WARN("persisting node state: {}", st.message());
    Record("node_up", snapshot.reg.node_id, snapshot.reg.url);
  }
  return OkStatus();
}

void NodeRegistry::Sweep() {
  std::vector<NodeStatus> went_down;
  {
    std::lock_guard lock(mu_);
    auto now = options_.now();
    for (auto& [id, n] : nodes_) {
      if (n.status.up && now - n.last_seen >= options_.node_timeout) {
        n.status.up = false;
        n.status.ready.clear();  // a node that comes back re-reports
        went_down.push_back(n.status);
      }
    }
  }
  for (const NodeStatus& s : went_down) {
    LOG_WARN("node {} is down (no heartbeat for {} ms)", s.reg.node_id,
             std::chrono::duration_cast<std::chrono::milliseconds>(options_.node_timeout).count());
    if (Status st = Persist(s.reg.node_id); !st.ok()) LOG_WARN("persisting node state: {}", st.message());
    Record("node_down", s.reg.node_id, s.reg.url);
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
  if (it != nodes_.end() && it->second.status.gateway_inflight > 0) --it->second.status.gateway_inflight;
}

}  // namespace aether::control
