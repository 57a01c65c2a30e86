// libFuzzer target for ParseAssignments (workflow_host.h), the engine's
// reading of GET /node/workflows: text from the control plane, or from
// whatever answers at its URL. Checks, on any bytes:
//   * no crash, UB or uncaught exception; errors are InvalidArgument with a
//     message;
//   * what is accepted is safe to use as map keys, log fields and path
//     components (file-log writes under <data_dir>/workflows/<workflow>/):
//     workflow and component names of [a-z0-9_-] only, instance ids that
//     are exactly <workflow>/<component>/<index>, unique ids and peers,
//     node URLs of http(s):// without whitespace, control bytes or a
//     trailing '/';
//   * what is accepted, written back as the protocol's JSON, parses to the
//     same assignment (nothing is read two ways).
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "common/result.h"
#include "engine/workflow/workflow_host.h"

namespace {

namespace json = boost::json;
using aether::Code;
using namespace aether::engine::workflow;  // NOLINT: the parser's types

// Names (63 bytes) and resource classes (64): [a-z0-9_-], nothing path-like.
bool NameChars(std::string_view s, size_t max = 63) {
  if (s.empty() || s.size() > max) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  }
  return true;
}

// <workflow>/<component>/<index>, index 0..9999 in decimal.
bool InstanceId(std::string_view id) {
  size_t a = id.find('/');
  if (a == std::string_view::npos) return false;
  size_t b = id.find('/', a + 1);
  if (b == std::string_view::npos) return false;
  std::string_view index = id.substr(b + 1);
  if (!NameChars(id.substr(0, a)) || !NameChars(id.substr(a + 1, b - a - 1))) return false;
  if (index.empty() || index.size() > 4) return false;
  for (char c : index) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

bool Url(std::string_view url) {
  if (!url.starts_with("http://") && !url.starts_with("https://")) return false;
  if (url.back() == '/') return false;
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return false;
  }
  return true;
}

json::array Targets(const std::vector<OutputTarget>& targets) {
  json::array out;
  for (const OutputTarget& t : targets) {
    out.push_back(json::object{{"instance", t.instance}, {"node_id", t.node_id}, {"url", t.url}});
  }
  return out;
}

// The protocol's JSON for `a` (docs/workflow-protocol.md).
std::string Encode(const Assignments& a) {
  json::array instances;
  for (const InstanceAssignment& i : a.instances) {
    json::object o{{"id", i.id},
                   {"workflow", i.workflow},
                   {"component", i.component},
                   {"init_payload", i.init_payload},
                   {"memory_limit", i.memory_limit},
                   {"timeout_ms", i.timeout_ms}};
    if (i.kind == InstanceAssignment::Kind::kFunction) {
      o["kind"] = "function";
      o["function"] = i.function;
      o["sha256"] = i.sha256;
    } else {
      o["kind"] = "resource";
      o["class_type"] = i.class_type;
    }
    json::object config;
    for (const auto& [k, v] : i.configurations) config[k] = v;
    o["configurations"] = std::move(config);
    json::object outputs;
    for (const auto& [name, targets] : i.outputs) outputs[name] = Targets(targets);
    o["outputs"] = std::move(outputs);
    instances.push_back(std::move(o));
  }
  json::array peers;
  for (const PeerGrant& p : a.peers) {
    json::array ids;
    for (const std::string& id : p.instances) ids.push_back(json::string(id));
    peers.push_back(json::object{
        {"node_id", p.node_id}, {"token_sha256", p.token_sha256}, {"instances", std::move(ids)}});
  }
  return json::serialize(json::object{
      {"revision", a.revision}, {"instances", std::move(instances)}, {"peers", std::move(peers)}});
}

void CheckSafe(const Assignments& a) {
  CHECK(a.revision >= 0);
  std::set<std::string> ids;
  for (const InstanceAssignment& i : a.instances) {
    CHECK(NameChars(i.workflow) && NameChars(i.component));
    CHECK(i.id.starts_with(i.workflow + "/" + i.component + "/") && InstanceId(i.id));
    CHECK(ids.insert(i.id).second);
    CHECK(i.timeout_ms >= 0);
    if (i.kind == InstanceAssignment::Kind::kFunction) {
      CHECK(NameChars(i.function) && i.sha256.size() == 64);
    } else {
      CHECK(NameChars(i.class_type, 64));
    }
    for (const auto& [name, targets] : i.outputs) {
      CHECK(!name.empty() && name.find('/') == std::string::npos);
      for (const OutputTarget& t : targets) {
        CHECK(InstanceId(t.instance) && !t.node_id.empty() && Url(t.url));
      }
    }
  }
  std::set<std::string> nodes;
  for (const PeerGrant& p : a.peers) {
    CHECK(nodes.insert(p.node_id).second);
    CHECK(p.token_sha256.size() == 64);
    for (const std::string& id : p.instances) CHECK(InstanceId(id));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto a = ParseAssignments(text);
  if (!a.ok()) {
    CHECK(a.status().code() == Code::kInvalidArgument);
    CHECK(!a.status().message().empty());
    return 0;
  }
  CheckSafe(*a);
  std::string once = Encode(*a);
  auto again = ParseAssignments(once);
  CHECK(again.ok());
  CHECK(again->revision == a->revision);
  CHECK(again->instances == a->instances);
  CHECK(again->peers == a->peers);
  CHECK(Encode(*again) == once);
  return 0;
}
