// `aether nodes ls|rm|cordon|uncordon|drain`: the engines registered with
// the control plane, revoking one, and whether workflow instances may be
// placed on it.
#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "cli/commands.h"
#include "cli/remote.h"
#include "cli/table.h"
#include "common/json_util.h"

namespace aether::cli {
namespace {

namespace json = boost::json;

struct NodesArgs {
  RemoteFlags remote;
  std::string node_id;  // rm, cordon, uncordon, drain
  int timeout_s = 120;  // drain: how long to wait for the instances to move
};

// SCHEDULING as ls shows it: "-" for an active node.
std::string SchedulingCell(const json::object& n) {
  std::string s = Field(n, "scheduling");
  return s == "active" ? "-" : s;
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
    Table t({"NODE", "STATE", "SCHEDULING", "URL", "LABELS", "READY", "INSTANCES", "LOAD",
             "LAST-HEARTBEAT"});
    for (const json::value& item : *list) {
      if (!item.is_object()) continue;
      const json::object& n = item.as_object();
      t.AddRow({Field(n, "node_id"), Field(n, "state"), SchedulingCell(n), Field(n, "url"),
                LabelsCell(n.if_contains("labels")), ReadyCell(n), Cell(n.if_contains("instances")),
                LoadCell(n), AgeCell(n.if_contains("last_heartbeat"))});
    }
    t.Print(stdout);
    return 0;
  });
}

int Remove(const NodesArgs& a) {
  if (Status st = CheckNodeIdArg(a.node_id, "node"); !st.ok()) return Report(st);
  return Exchange(a.remote, "DELETE", "/api/nodes/" + a.node_id, "", [&a](const json::value&) {
    std::printf(
        "removed %s (its credential is revoked; its workflow instances move to other "
        "nodes)\n",
        a.node_id.c_str());
    return 0;
  });
}

// POST /api/nodes/{id}/{action}: the node as it is now.
Result<json::object> Schedule(const Remote& remote, const std::string& node_id,
                              std::string_view action, std::string* raw) {
  ASSIGN_OR_RETURN(json::value answer,
                   remote.Call("POST", "/api/nodes/" + node_id + "/" + std::string(action), "",
                               "application/json", std::chrono::seconds(30), raw));
  if (!answer.is_object()) return Internal("unexpected answer from the control plane");
  return answer.as_object();
}

int Cordon(const NodesArgs& a, std::string_view action) {
  if (Status st = CheckNodeIdArg(a.node_id, "node"); !st.ok()) return Report(st);
  Result<Remote> remote = Remote::Resolve(a.remote);
  if (!remote.ok()) return Report(remote.status());
  std::string raw;
  Result<json::object> node = Schedule(*remote, a.node_id, action, &raw);
  if (!node.ok()) return Report(node.status());
  if (remote->json()) {
    PrintRaw(raw);
    return 0;
  }
  if (action == "cordon") {
    std::printf("cordoned %s: no new workflow instances go there; its %s stay there\n",
                a.node_id.c_str(),
                (Cell(node->if_contains("instances")) + " workflow instances").c_str());
  } else {
    std::printf("uncordoned %s: workflow instances may be placed there again\n", a.node_id.c_str());
  }
  return 0;
}

// The workflow instances GET /api/nodes says `node_id` has; -1 when it is
// not listed.
Result<int64_t> InstancesOn(const Remote& remote, const std::string& node_id) {
  ASSIGN_OR_RETURN(json::value list, remote.Call("GET", "/api/nodes"));
  const json::value* nodes = list.is_object() ? list.as_object().if_contains("nodes") : nullptr;
  if (nodes == nullptr || !nodes->is_array()) {
    return Internal("unexpected answer from the control plane");
  }
  for (const json::value& item : nodes->as_array()) {
    if (item.is_object() && Field(item.as_object(), "node_id") == node_id) {
      return IntField(item.as_object(), "instances");
    }
  }
  return -1;
}

// Drains, then waits until no workflow instance is placed on the node.
int Drain(const NodesArgs& a) {
  if (Status st = CheckNodeIdArg(a.node_id, "node"); !st.ok()) return Report(st);
  if (a.timeout_s < 0) return Report(UsageError("--timeout must be 0 or more seconds"));
  Result<Remote> remote = Remote::Resolve(a.remote);
  if (!remote.ok()) return Report(remote.status());
  // Counted before: the orchestrator starts moving them at once.
  Result<int64_t> first = InstancesOn(*remote, a.node_id);
  if (!first.ok()) return Report(first.status());
  std::string raw;
  Result<json::object> node = Schedule(*remote, a.node_id, "drain", &raw);
  if (!node.ok()) return Report(node.status());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(a.timeout_s);
  int64_t left = IntField(*node, "instances");
  while (left > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    Result<int64_t> now = InstancesOn(*remote, a.node_id);
    if (!now.ok()) return Report(now.status());
    left = *now;
  }
  if (left > 0) {
    return Report(DeadlineExceeded(
        "node " + a.node_id + " still has " + std::to_string(left) + " of its " +
        std::to_string(std::max(*first, left)) + " workflow instances after " +
        std::to_string(a.timeout_s) +
        " s: no other live node may run them (their annotations, or the others are cordoned); "
        "they keep running there and the node stays draining"));
  }
  if (remote->json()) {
    PrintRaw(raw);
    return 0;
  }
  std::printf("drained %s: %lld workflow instances moved; it takes no new ones until uncordoned\n",
              a.node_id.c_str(), static_cast<long long>(std::max<int64_t>(*first, 0)));
  return 0;
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
  CLI::App* cordon =
      nodes->add_subcommand("cordon", "No new workflow instances on a node; those there stay");
  cordon->add_option("node_id", args->node_id, "Node id")->required();
  AddRemoteFlags(cordon, &args->remote);
  cordon->callback([args, exit_code] { *exit_code = Cordon(*args, "cordon"); });
  CLI::App* uncordon =
      nodes->add_subcommand("uncordon", "Let workflow instances be placed on a node again");
  uncordon->add_option("node_id", args->node_id, "Node id")->required();
  AddRemoteFlags(uncordon, &args->remote);
  uncordon->callback([args, exit_code] { *exit_code = Cordon(*args, "uncordon"); });
  CLI::App* drain = nodes->add_subcommand(
      "drain",
      "Move a node's workflow instances to other nodes and take no new ones; waits until moved");
  drain->add_option("node_id", args->node_id, "Node id")->required();
  drain->add_option("--timeout", args->timeout_s, "Seconds to wait for the instances to move")
      ->default_val(120);
  AddRemoteFlags(drain, &args->remote);
  drain->callback([args, exit_code] { *exit_code = Drain(*args); });
}

}  // namespace aether::cli
