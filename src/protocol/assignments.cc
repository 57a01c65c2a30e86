// GET /node/workflows both ways. The parser checks what the engine will use
// as map keys, log fields and path components (file-log writes under
// <data_dir>/workflows/<workflow>/...). One bad entry fails the whole
// answer: the poller keeps the previous assignment and retries.
#include "protocol/assignments.h"

#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <set>

#include "common/json_util.h"
#include "protocol/ids.h"
#include "protocol/names.h"

namespace aether::protocol {
namespace {

namespace json = boost::json;

// Bounds on what one node can be asked to run; far above what placement
// produces (256 components x 64 instances per workflow is the spec's limit).
constexpr size_t kMaxInstances = 65536;
constexpr size_t kMaxTargets = 1024;  // per output
constexpr size_t kMaxOutputName = 128;
constexpr size_t kMaxPeers = 4096;         // nodes that may send to this one
constexpr size_t kMaxWorkflows = 1 << 20;  // in the "workflows" list

// Output names come from guests' aether.cast calls: any printable ASCII but
// '/' (so nothing path-like), bounded.
bool IsOutputName(std::string_view s) {
  if (s.empty() || s.size() > kMaxOutputName) return false;
  for (char c : s) {
    if (c <= 0x20 || c >= 0x7f || c == '/' || c == '\\' || c == '"') return false;
  }
  return true;
}

// Resource classes: lower-case words joined by '-'.
bool IsClassType(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return false;
  }
  return true;
}

Status Bad(const std::string& path, std::string_view what) {
  return InvalidArgument("field \"" + path + "\" " + std::string(what));
}

// The field's value, or nullptr when absent or null.
const json::value* Field(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v == nullptr || v->is_null() ? nullptr : v;
}

Result<std::string> Str(const json::object& o, std::string_view key, const std::string& path,
                        bool required) {
  const json::value* v = Field(o, key);
  if (v == nullptr) {
    if (required) return Bad(path, "is required");
    return std::string();
  }
  if (!v->is_string()) return Bad(path, "must be a string");
  return std::string(v->get_string().data(), v->get_string().size());
}

Result<int64_t> NonNegativeValue(const json::value& v, const std::string& path) {
  int64_t n = 0;
  if (v.is_int64()) {
    n = v.get_int64();
  } else if (v.is_uint64() && v.get_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
    n = static_cast<int64_t>(v.get_uint64());
  } else if (v.is_double() && v.get_double() >= 0 && v.get_double() < 9.2e18 &&
             v.get_double() == static_cast<double>(static_cast<int64_t>(v.get_double()))) {
    n = static_cast<int64_t>(v.get_double());
  } else {
    return Bad(path, "must be an integer");
  }
  if (n < 0) return Bad(path, "must not be negative");
  return n;
}

Result<int64_t> NonNegative(const json::object& o, std::string_view key, const std::string& path,
                            bool required) {
  const json::value* v = Field(o, key);
  if (v == nullptr) {
    if (required) return Bad(path, "is required");
    return int64_t{0};
  }
  return NonNegativeValue(*v, path);
}

Result<std::vector<OutputTarget>> ParseTargets(const json::value& v, const std::string& path) {
  if (!v.is_array()) return Bad(path, "must be an array of targets");
  const json::array& a = v.get_array();
  if (a.size() > kMaxTargets) return Bad(path, "has too many targets");
  std::vector<OutputTarget> out;
  out.reserve(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    std::string p = path + "[" + std::to_string(i) + "]";
    if (!a[i].is_object()) return Bad(p, "must be an object");
    const json::object& o = a[i].get_object();
    OutputTarget t;
    ASSIGN_OR_RETURN(t.instance, Str(o, "instance", p + ".instance", true));
    if (!IsInstanceId(t.instance)) {
      return Bad(p + ".instance", "must be \"<workflow>/<component>/<index>\"");
    }
    ASSIGN_OR_RETURN(t.node_id, Str(o, "node_id", p + ".node_id", true));
    if (!IsNodeId(t.node_id)) return Bad(p + ".node_id", "is not a valid node id");
    ASSIGN_OR_RETURN(t.url, Str(o, "url", p + ".url", true));
    if (!IsNodeUrl(t.url)) return Bad(p + ".url", "must be an http:// or https:// URL");
    while (t.url.back() == '/') t.url.pop_back();
    out.push_back(std::move(t));
  }
  return out;
}

Result<InstanceAssignment> ParseInstance(const json::object& o, const std::string& path) {
  InstanceAssignment a;
  ASSIGN_OR_RETURN(a.id, Str(o, "id", path + ".id", true));
  ASSIGN_OR_RETURN(a.workflow, Str(o, "workflow", path + ".workflow", true));
  if (!IsName(a.workflow)) {
    return Bad(path + ".workflow", "must match " + std::string(kNamePattern));
  }
  ASSIGN_OR_RETURN(a.component, Str(o, "component", path + ".component", true));
  if (!IsName(a.component)) {
    return Bad(path + ".component", "must match " + std::string(kNamePattern));
  }
  std::optional<InstanceIdParts> id = ParseInstanceId(a.id);
  if (!id) return Bad(path + ".id", "must be \"<workflow>/<component>/<index>\"");
  if (id->workflow != a.workflow || id->component != a.component) {
    return Bad(path + ".id", "does not match its workflow and component");
  }

  ASSIGN_OR_RETURN(std::string kind, Str(o, "kind", path + ".kind", true));
  if (kind == "function") {
    a.kind = InstanceAssignment::Kind::kFunction;
    ASSIGN_OR_RETURN(a.function, Str(o, "function", path + ".function", true));
    if (!IsName(a.function)) {
      return Bad(path + ".function", "is not a valid function name");
    }
    ASSIGN_OR_RETURN(a.sha256, Str(o, "sha256", path + ".sha256", true));
    if (!IsSha256Hex(a.sha256)) {
      return Bad(path + ".sha256", "must be 64 lower-case hex digits");
    }
  } else if (kind == "resource") {
    a.kind = InstanceAssignment::Kind::kResource;
    ASSIGN_OR_RETURN(a.class_type, Str(o, "class_type", path + ".class_type", true));
    if (!IsClassType(a.class_type)) return Bad(path + ".class_type", "is not a class name");
  } else {
    return Bad(path + ".kind", "must be \"function\" or \"resource\"");
  }

  if (const json::value* c = Field(o, "configurations")) {
    if (!c->is_object()) return Bad(path + ".configurations", "must be an object");
    for (const auto& [k, v] : c->get_object()) {
      std::string key(k);
      if (!v.is_string()) return Bad(path + ".configurations." + key, "must be a string");
      a.configurations[key] = std::string(v.get_string().data(), v.get_string().size());
    }
  }
  ASSIGN_OR_RETURN(a.init_payload, Str(o, "init_payload", path + ".init_payload", false));
  ASSIGN_OR_RETURN(int64_t memory, NonNegative(o, "memory_limit", path + ".memory_limit", false));
  a.memory_limit = static_cast<uint64_t>(memory);
  ASSIGN_OR_RETURN(a.timeout_ms, NonNegative(o, "timeout_ms", path + ".timeout_ms", false));
  ASSIGN_OR_RETURN(std::string delivery, Str(o, "delivery", path + ".delivery", false));
  if (!delivery.empty()) {
    std::optional<Delivery> d = ParseDelivery(delivery);
    if (!d) return Bad(path + ".delivery", "must be \"at-most-once\" or \"at-least-once\"");
    a.delivery = *d;
  }
  ASSIGN_OR_RETURN(a.incarnation, NonNegative(o, "incarnation", path + ".incarnation", false));

  if (const json::value* outs = Field(o, "outputs")) {
    if (!outs->is_object()) return Bad(path + ".outputs", "must be an object");
    for (const auto& [k, v] : outs->get_object()) {
      std::string name(k);
      std::string p = path + ".outputs." + name;
      if (!IsOutputName(name)) return Bad(p, "is not a valid output name");
      ASSIGN_OR_RETURN(a.outputs[name], ParseTargets(v, p));
    }
  }
  if (const json::value* comps = Field(o, "output_components")) {
    if (!comps->is_object()) return Bad(path + ".output_components", "must be an object");
    for (const auto& [k, v] : comps->get_object()) {
      std::string name(k);
      std::string p = path + ".output_components." + name;
      if (!IsOutputName(name)) return Bad(p, "is not a valid output name");
      if (!v.is_string() || !IsName(v.get_string())) {
        return Bad(p, "must be a component name matching " + std::string(kNamePattern));
      }
      a.output_components[name] = std::string(v.get_string());
    }
  }
  return a;
}

Result<PeerGrant> ParsePeer(const json::value& v, const std::string& path) {
  if (!v.is_object()) return Bad(path, "must be an object");
  const json::object& o = v.get_object();
  PeerGrant p;
  ASSIGN_OR_RETURN(p.node_id, Str(o, "node_id", path + ".node_id", true));
  if (!IsNodeId(p.node_id)) return Bad(path + ".node_id", "is not a valid node id");
  ASSIGN_OR_RETURN(p.token_sha256, Str(o, "token_sha256", path + ".token_sha256", true));
  if (!IsSha256Hex(p.token_sha256)) {
    return Bad(path + ".token_sha256", "must be 64 lower-case hex digits");
  }
  const json::value* list = Field(o, "instances");
  if (list == nullptr || !list->is_array()) return Bad(path + ".instances", "must be an array");
  if (list->get_array().size() > kMaxInstances)
    return Bad(path + ".instances", "has too many entries");
  for (const json::value& id : list->get_array()) {
    if (!id.is_string() || !IsInstanceId(id.get_string())) {
      return Bad(path + ".instances", "must hold \"<workflow>/<component>/<index>\" ids");
    }
    p.instances.emplace(id.get_string().data(), id.get_string().size());
  }
  return p;
}

Result<WorkflowIncarnations> ParseWorkflows(const json::value& v) {
  if (!v.is_object()) return Bad("workflows", "must be an object");
  if (v.get_object().size() > kMaxWorkflows) return Bad("workflows", "has too many entries");
  WorkflowIncarnations out;
  for (const auto& [k, n] : v.get_object()) {
    std::string name(k);
    if (!IsName(name))
      return Bad("workflows", "has a name that does not match " + std::string(kNamePattern));
    ASSIGN_OR_RETURN(int64_t incarnation, NonNegativeValue(n, "workflows." + name));
    out.emplace(std::move(name), incarnation);
  }
  return out;
}

json::object OutputsJson(const std::map<std::string, std::vector<OutputTarget>>& outputs) {
  json::object out;
  for (const auto& [output, targets] : outputs) {
    json::array list;
    list.reserve(targets.size());
    for (const OutputTarget& t : targets) {
      list.push_back(
          json::object{{"instance", t.instance}, {"node_id", t.node_id}, {"url", t.url}});
    }
    out[output] = std::move(list);
  }
  return out;
}

json::object InstanceJson(const InstanceAssignment& a) {
  json::object o{{"id", a.id}, {"workflow", a.workflow}, {"component", a.component}};
  if (a.kind == InstanceAssignment::Kind::kFunction) {
    o["kind"] = "function";
    o["function"] = a.function;
    o["sha256"] = a.sha256;
    o["init_payload"] = SanitizeUtf8(a.init_payload);
    o["memory_limit"] = a.memory_limit;
    o["timeout_ms"] = a.timeout_ms;
  } else {
    json::object configurations;
    for (const auto& [k, v] : a.configurations) configurations[k] = SanitizeUtf8(v);
    o["kind"] = "resource";
    o["class_type"] = a.class_type;
    o["configurations"] = std::move(configurations);
  }
  o["outputs"] = OutputsJson(a.outputs);
  if (!a.output_components.empty()) {
    json::object comps;
    for (const auto& [output, component] : a.output_components) comps[output] = component;
    o["output_components"] = std::move(comps);
  }
  if (a.delivery != Delivery::kAtMostOnce) o["delivery"] = DeliveryName(a.delivery);
  if (a.incarnation != 0) o["incarnation"] = a.incarnation;
  return o;
}

}  // namespace

std::string_view DeliveryName(Delivery d) {
  return d == Delivery::kAtLeastOnce ? "at-least-once" : "at-most-once";
}

std::optional<Delivery> ParseDelivery(std::string_view name) {
  if (name == "at-most-once") return Delivery::kAtMostOnce;
  if (name == "at-least-once") return Delivery::kAtLeastOnce;
  return std::nullopt;
}

std::string EncodeAssignments(const Assignments& assignments) {
  json::array instances;
  instances.reserve(assignments.instances.size());
  for (const InstanceAssignment& a : assignments.instances) instances.push_back(InstanceJson(a));
  json::array peers;
  for (const PeerGrant& p : assignments.peers) {
    json::array ids;
    for (const std::string& id : p.instances) ids.push_back(json::string(id));
    peers.push_back(json::object{
        {"node_id", p.node_id}, {"token_sha256", p.token_sha256}, {"instances", std::move(ids)}});
  }
  json::object root{{"revision", assignments.revision},
                    {"instances", std::move(instances)},
                    {"peers", std::move(peers)}};
  if (assignments.workflows) {
    json::object workflows;
    for (const auto& [name, incarnation] : *assignments.workflows) workflows[name] = incarnation;
    root["workflows"] = std::move(workflows);
  }
  return ToJson(std::move(root));
}

Result<Assignments> ParseAssignments(std::string_view text) {
  ASSIGN_OR_RETURN(json::object root, ParseJsonObject(text, "the workflow assignment"));
  Assignments out;
  ASSIGN_OR_RETURN(out.revision, NonNegative(root, "revision", "revision", true));
  const json::value* list = Field(root, "instances");
  if (list == nullptr) return Bad("instances", "is required");
  if (!list->is_array()) return Bad("instances", "must be an array");
  const json::array& a = list->get_array();
  if (a.size() > kMaxInstances) return Bad("instances", "has too many entries");
  out.instances.reserve(a.size());
  std::set<std::string, std::less<>> seen;
  for (size_t i = 0; i < a.size(); ++i) {
    std::string path = "instances[" + std::to_string(i) + "]";
    if (!a[i].is_object()) return Bad(path, "must be an object");
    ASSIGN_OR_RETURN(InstanceAssignment inst, ParseInstance(a[i].get_object(), path));
    if (!seen.insert(inst.id).second) return Bad(path + ".id", "repeats \"" + inst.id + "\"");
    out.instances.push_back(std::move(inst));
  }
  // Absent from an older control plane: then no peer is accepted.
  if (const json::value* peers = Field(root, "peers")) {
    if (!peers->is_array()) return Bad("peers", "must be an array");
    if (peers->get_array().size() > kMaxPeers) return Bad("peers", "has too many entries");
    std::set<std::string, std::less<>> seen_peers;
    for (size_t i = 0; i < peers->get_array().size(); ++i) {
      std::string path = "peers[" + std::to_string(i) + "]";
      ASSIGN_OR_RETURN(PeerGrant p, ParsePeer(peers->get_array()[i], path));
      if (!seen_peers.insert(p.node_id).second) return Bad(path + ".node_id", "repeats a node");
      out.peers.push_back(std::move(p));
    }
  }
  // Absent from an older control plane: then the engine deletes nothing.
  if (const json::value* workflows = Field(root, "workflows")) {
    ASSIGN_OR_RETURN(out.workflows, ParseWorkflows(*workflows));
    for (size_t i = 0; i < out.instances.size(); ++i) {
      const InstanceAssignment& inst = out.instances[i];
      auto it = out.workflows->find(inst.workflow);
      if (it == out.workflows->end() || it->second != inst.incarnation) {
        return Bad("instances[" + std::to_string(i) + "].incarnation",
                   "does not match its workflow's in \"workflows\"");
      }
    }
  }
  return out;
}

}  // namespace aether::protocol
