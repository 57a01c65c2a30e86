// `aether cluster status`: the control plane's replicas (GET /api/cluster)
// with their role, store revision, lag and artifacts.
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/remote.h"
#include "cli/table.h"
#include "common/json_util.h"

namespace aether::cli {
namespace {

namespace json = boost::json;

// ARTIFACTS: "12" held, "12 (3 missing)" when versions refer to some it lacks.
std::string ArtifactsCell(const json::object& r) {
  const json::value* a = r.if_contains("artifacts");
  if (a == nullptr || !a->is_object()) return "-";
  std::string text = std::to_string(IntField(a->as_object(), "held"));
  if (int64_t missing = IntField(a->as_object(), "missing"); missing > 0) {
    text += " (" + std::to_string(missing) + " missing)";
  }
  return text;
}

// ROLE, or why the replica did not say.
std::string StateCell(const json::object& r) {
  if (const json::value* reachable = r.if_contains("reachable");
      reachable != nullptr && reachable->is_bool() && !reachable->as_bool()) {
    return "unreachable";
  }
  const json::value* store = r.if_contains("store_reachable");
  if (store != nullptr && store->is_bool() && !store->as_bool())
    return Field(r, "role") + " (no store)";
  return Field(r, "role");
}

int ShowStatus(const RemoteFlags& remote) {
  return Exchange(remote, "GET", "/api/cluster", "", [](const json::value& answer) {
    const json::value* list =
        answer.is_object() ? answer.as_object().if_contains("replicas") : nullptr;
    if (list == nullptr || !list->is_array()) {
      return Report(Internal("unexpected answer from the control plane"));
    }
    const json::object& top = answer.as_object();
    std::printf("store: %s, revision %lld, leader: %s\n", Field(top, "backend").c_str(),
                static_cast<long long>(IntField(top, "revision")), Field(top, "leader").c_str());
    Table t({"REPLICA", "ROLE", "URL", "REVISION", "LAG", "ARTIFACTS", "ERROR"});
    for (const json::value& item : list->as_array()) {
      if (!item.is_object()) continue;
      const json::object& r = item.as_object();
      std::string id = Field(r, "id");
      if (const json::value* self = r.if_contains("self");
          self && self->is_bool() && self->as_bool()) {
        id += " *";
      }
      t.AddRow({id, StateCell(r), Field(r, "url"), Field(r, "revision"), Field(r, "lag"),
                ArtifactsCell(r), Truncate(Field(r, "error"), 80)});
    }
    t.Print(stdout);
    return 0;
  });
}

}  // namespace

void AddClusterCommand(CLI::App& app, int* exit_code) {
  auto remote = std::make_shared<RemoteFlags>();
  CLI::App* cluster = app.add_subcommand("cluster", "The control plane's replicas");
  cluster->require_subcommand(1);
  CLI::App* status = cluster->add_subcommand(
      "status", "List the replicas with their role, store revision, lag and artifacts");
  AddRemoteFlags(status, remote.get());
  status->callback([remote, exit_code] { *exit_code = ShowStatus(*remote); });
}

}  // namespace aether::cli
