// `aether domains ls|show|rm|cordon|uncordon|drain`: the orchestration
// domains registered with a cluster controller (docs/domains.md).
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/remote.h"
#include "cli/table.h"
#include "common/json_util.h"

namespace aether::cli {
namespace {

namespace json = boost::json;

struct DomainsArgs {
  RemoteFlags remote;
  std::string domain_id;  // show, rm, cordon, uncordon, drain
};

const json::object& Capabilities(const json::object& d) {
  static const json::object kNone;
  const json::value* c = d.if_contains("capabilities");
  return c != nullptr && c->is_object() ? c->as_object() : kNone;
}

// NODES: up of registered ("2/3").
std::string NodesCell(const json::object& caps) {
  return std::to_string(IntField(caps, "nodes_up")) + "/" +
         std::to_string(IntField(caps, "nodes_total"));
}

// FREE: free execution slots of all ("5/8").
std::string FreeCell(const json::object& caps) {
  return std::to_string(IntField(caps, "free_workers")) + "/" +
         std::to_string(IntField(caps, "workers"));
}

std::string SchedulingCell(const json::object& d) {
  std::string s = Field(d, "scheduling");
  return s == "active" ? "-" : s;
}

int List(const DomainsArgs& a) {
  return Exchange(a.remote, "GET", "/api/domains", "", [](const json::value& answer) {
    const json::value* list =
        answer.is_object() ? answer.as_object().if_contains("domains") : nullptr;
    if (list == nullptr || !list->is_array()) {
      return Report(Internal("unexpected answer from the controller"));
    }
    if (list->as_array().empty()) {
      std::printf(
          "no domains registered (a domain's control plane joins with [domain] role = "
          "\"domain\", controller and join_token)\n");
      return 0;
    }
    Table t({"DOMAIN", "STATE", "SCHEDULING", "URL", "LABELS", "NODES", "FREE", "INSTANCES",
             "HEALTH", "LAST-HEARTBEAT"});
    for (const json::value& item : list->as_array()) {
      if (!item.is_object()) continue;
      const json::object& d = item.as_object();
      const json::object& caps = Capabilities(d);
      t.AddRow({Field(d, "domain_id"), Field(d, "state"), SchedulingCell(d), Field(d, "url"),
                LabelsCell(d.if_contains("labels")), NodesCell(caps), FreeCell(caps),
                Field(caps, "instances"), Field(caps, "health"),
                AgeCell(d.if_contains("last_heartbeat"))});
    }
    t.Print(stdout);
    return 0;
  });
}

std::string Joined(const json::value* v) {
  if (v == nullptr || !v->is_array() || v->as_array().empty()) return "-";
  std::string out;
  for (const json::value& e : v->as_array()) out += (out.empty() ? "" : ", ") + Cell(&e);
  return out;
}

int Show(const DomainsArgs& a) {
  if (Status st = CheckNodeIdArg(a.domain_id, "domain"); !st.ok()) return Report(st);
  return Exchange(a.remote, "GET", "/api/domains/" + a.domain_id, "", [](const json::value& v) {
    if (!v.is_object()) return Report(Internal("unexpected answer from the controller"));
    const json::object& d = v.as_object();
    const json::object& caps = Capabilities(d);
    std::printf("domain:          %s\n", Field(d, "domain_id").c_str());
    std::printf("state:           %s\n", Field(d, "state").c_str());
    std::printf("scheduling:      %s\n", Field(d, "scheduling").c_str());
    std::printf("url:             %s\n", Field(d, "url").c_str());
    std::printf("labels:          %s\n", LabelsCell(d.if_contains("labels")).c_str());
    std::printf("registered:      %s\n", TimeCell(d.if_contains("registered_at")).c_str());
    std::printf("last heartbeat:  %s\n", AgeCell(d.if_contains("last_heartbeat")).c_str());
    std::printf("health:          %s\n", Field(caps, "health").c_str());
    std::printf("nodes up:        %s\n", NodesCell(caps).c_str());
    std::printf("free workers:    %s\n", FreeCell(caps).c_str());
    std::printf("instances:       %s\n", Field(caps, "instances").c_str());
    std::printf("runtimes:        %s\n", Joined(caps.if_contains("runtimes")).c_str());
    std::printf("resource classes: %s\n", Joined(caps.if_contains("resource_classes")).c_str());
    const json::value* nodes = caps.if_contains("nodes");
    if (nodes != nullptr && nodes->is_array() && !nodes->as_array().empty()) {
      std::printf("\nnodes taking new instances:\n");
      Table t({"NODE", "LABELS"});
      for (const json::value& n : nodes->as_array()) {
        if (!n.is_object()) continue;
        t.AddRow(
            {Field(n.as_object(), "node_id"), LabelsCell(n.as_object().if_contains("labels"))});
      }
      t.Print(stdout);
    }
    return 0;
  });
}

int Remove(const DomainsArgs& a) {
  if (Status st = CheckNodeIdArg(a.domain_id, "domain"); !st.ok()) return Report(st);
  return Exchange(a.remote, "DELETE", "/api/domains/" + a.domain_id, "", [&a](const json::value&) {
    std::printf("removed %s (its credential is revoked)\n", a.domain_id.c_str());
    return 0;
  });
}

int Schedule(const DomainsArgs& a, const std::string& action) {
  if (Status st = CheckNodeIdArg(a.domain_id, "domain"); !st.ok()) return Report(st);
  return Exchange(
      a.remote, "POST", "/api/domains/" + a.domain_id + "/" + action, "",
      [&a, action](const json::value&) {
        if (action == "cordon") {
          std::printf("cordoned %s: no new components are mapped there\n", a.domain_id.c_str());
        } else if (action == "drain") {
          std::printf(
              "draining %s: its components move to other domains that can host "
              "them\n",
              a.domain_id.c_str());
        } else {
          std::printf("uncordoned %s: components may be mapped there again\n", a.domain_id.c_str());
        }
        return 0;
      });
}

}  // namespace

void AddDomainsCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<DomainsArgs>();
  CLI::App* domains = app.add_subcommand(
      "domains", "Orchestration domains registered with a cluster controller (--role cluster)");
  domains->require_subcommand(1);
  CLI::App* ls = domains->add_subcommand("ls", "List domains with their state and capacity");
  AddRemoteFlags(ls, &args->remote);
  ls->callback([args, exit_code] { *exit_code = List(*args); });
  CLI::App* show = domains->add_subcommand("show", "A domain's capabilities and nodes");
  show->add_option("domain_id", args->domain_id, "Domain id")->required();
  AddRemoteFlags(show, &args->remote);
  show->callback([args, exit_code] { *exit_code = Show(*args); });
  CLI::App* rm = domains->add_subcommand("rm", "Revoke a domain: its credential stops working");
  rm->add_option("domain_id", args->domain_id, "Domain id")->required();
  AddRemoteFlags(rm, &args->remote);
  rm->callback([args, exit_code] { *exit_code = Remove(*args); });
  for (const char* action : {"cordon", "uncordon", "drain"}) {
    std::string what = std::string(action) == "cordon" ? "No new components in a domain"
                       : std::string(action) == "drain"
                           ? "Move a domain's components to other domains, take no new ones"
                           : "Let components be mapped to a domain again";
    CLI::App* sub = domains->add_subcommand(action, what);
    sub->add_option("domain_id", args->domain_id, "Domain id")->required();
    AddRemoteFlags(sub, &args->remote);
    sub->callback([args, exit_code, action] { *exit_code = Schedule(*args, action); });
  }
}

}  // namespace aether::cli
