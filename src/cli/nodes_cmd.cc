// `aether nodes ls|rm`: the engines registered with the control plane, and
// revoking one.
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/remote.h"
#include "cli/table.h"
#include "common/json_util.h"

namespace aether::cli {
namespace {

namespace json = boost::json;

struct NodesArgs {
  RemoteFlags remote;
  std::string node_id;  // rm
};

std::string LabelsCell(const json::value* labels) {
  if (labels == nullptr || !labels->is_object() || labels->as_object().empty()) return "-";
  std::string out;
  for (const auto& [k, v] : labels->as_object()) {
    if (!out.empty()) out += ',';
    out += std::string(k) + "=" + Cell(&v);
  }
  return out;
}

// READY: how many functions the node has ready to serve. The control plane
// sends {name: sha256}; a list or a number is accepted too.
std::string ReadyCell(const json::object& n) {
  const json::value* v = n.if_contains("functions_ready");
  if (v != nullptr && v->is_object()) return std::to_string(v->as_object().size());
  if (v != nullptr && v->is_array()) return std::to_string(v->as_array().size());
  return Cell(v);
}

// LOAD: executions in flight over the node's workers ("1/4"), plus the
// queue when there is one ("4/4 +12 queued").
std::string LoadCell(const json::object& n) {
  const json::value* load = n.if_contains("load");
  if (load == nullptr || !load->is_object()) return Cell(load);
  const json::object& l = load->as_object();
  std::string text = std::to_string(IntField(l, "inflight"));
  const json::value* cap = n.if_contains("capacity");
  if (cap != nullptr && cap->is_object() && cap->as_object().contains("workers")) {
    text += "/" + std::to_string(IntField(cap->as_object(), "workers"));
  }
  if (int64_t queue = IntField(l, "queue"); queue > 0)
    text += " +" + std::to_string(queue) + " queued";
  return text;
}

int List(const NodesArgs& a) {
  return Exchange(a.remote, "GET", "/api/nodes", "", [](const json::value& answer) {
    const json::array* list = nullptr;
    if (answer.is_array()) list = &answer.as_array();
    if (answer.is_object()) {
      if (const json::value* n = answer.as_object().if_contains("nodes"); n && n->is_array()) {
        list = &n->as_array();
      }
    }
    if (list == nullptr) return Report(Internal("unexpected answer from the control plane"));
    if (list->empty()) {
      std::printf("no nodes registered (engines join with [control] url in their config)\n");
      return 0;
    }
    Table t({"NODE", "STATE", "URL", "LABELS", "READY", "LOAD", "LAST-HEARTBEAT"});
    for (const json::value& item : *list) {
      if (!item.is_object()) continue;
      const json::object& n = item.as_object();
      t.AddRow({Field(n, "node_id"), Field(n, "state"), Field(n, "url"),
                LabelsCell(n.if_contains("labels")), ReadyCell(n), LoadCell(n),
                AgeCell(n.if_contains("last_heartbeat"))});
    }
    t.Print(stdout);
    return 0;
  });
}

// Node ids as the control plane accepts them: [A-Za-z0-9][A-Za-z0-9._-]{0,127}.
// Checked before sending so that an id never turns into another URL path.
Status CheckNodeId(std::string_view id) {
  bool ok = !id.empty() && id.size() <= 128;
  for (size_t i = 0; ok && i < id.size(); ++i) {
    char c = id[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    ok = alnum || (i > 0 && (c == '.' || c == '_' || c == '-'));
  }
  if (ok) return OkStatus();
  return UsageError("invalid node id \"" + std::string(id.substr(0, 128)) +
                    "\": letters, digits, '.', '_' and '-', starting with a letter or digit, "
                    "at most 128");
}

int Remove(const NodesArgs& a) {
  if (Status st = CheckNodeId(a.node_id); !st.ok()) return Report(st);
  return Exchange(a.remote, "DELETE", "/api/nodes/" + a.node_id, "", [&a](const json::value&) {
    std::printf(
        "removed %s (its credential is revoked; its workflow instances move to other "
        "nodes)\n",
        a.node_id.c_str());
    return 0;
  });
}

}  // namespace

void AddNodesCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<NodesArgs>();
  CLI::App* nodes = app.add_subcommand("nodes", "Engines registered with the control plane");
  nodes->require_subcommand(1);
  CLI::App* ls = nodes->add_subcommand("ls", "List nodes with their state and load");
  AddRemoteFlags(ls, &args->remote);
  ls->callback([args, exit_code] { *exit_code = List(*args); });
  CLI::App* rm = nodes->add_subcommand(
      "rm", "Revoke a node: its credential stops working and its workflow instances move");
  rm->add_option("node_id", args->node_id, "Node id")->required();
  AddRemoteFlags(rm, &args->remote);
  rm->callback([args, exit_code] { *exit_code = Remove(*args); });
}

}  // namespace aether::cli
