// `aether workflow apply|ls|show|rm`: workflows on the control plane
// (/api/workflows, docs/workflow-protocol.md). `apply` first builds and
// uploads the modules of the spec's code paths (workflow_code.h,
// workflow_build.h), then posts the spec with those paths replaced by the
// deployed function names.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/remote.h"
#include "cli/table.h"
#include "cli/workflow_build.h"
#include "cli/workflow_code.h"
#include "common/json_util.h"
#include "common/sha256.h"

namespace aether::cli {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

struct WorkflowArgs {
  RemoteFlags remote;
  std::string file;
  std::string id;
  std::string sdk;
  bool dry_run = false;
  std::string component;  // migrate
  std::string node;       // migrate
  std::string domain;     // migrate, on a cluster controller
};

Status CheckWorkflowId(std::string_view id) {
  auto ok_first = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  bool ok = !id.empty() && id.size() <= 63 && ok_first(id[0]);
  for (size_t i = 1; ok && i < id.size(); ++i) ok = ok_first(id[i]) || id[i] == '_' || id[i] == '-';
  if (ok) return OkStatus();
  return UsageError("invalid workflow id \"" + SanitizeUtf8(id) +
                    "\": ids are a spec's name or wf-<8 hex digits> (see aether workflow ls)");
}

std::string ExePath() {
  std::error_code ec;
  fs::path p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : p.string();
}

std::string EnvVar(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

// "ingress  URL" lines; the component is named when there are several.
void PrintIngress(const json::object& w) {
  const json::value* ingress = w.if_contains("ingress");
  if (ingress == nullptr || !ingress->is_array()) return;
  const json::array& list = ingress->as_array();
  for (const json::value& item : list) {
    if (!item.is_object()) continue;
    std::string url = Field(item.as_object(), "url");
    // A cluster controller's view: the ingress is on an engine of a domain.
    if (url.empty()) url = "(on an engine of its domain: workflow show at that domain's URL)";
    std::string line = "ingress  " + url;
    if (list.size() > 1) line += "  (" + Field(item.as_object(), "component") + ")";
    std::printf("%s\n", line.c_str());
  }
}

std::string StateLine(const json::object& w) {
  std::string reason = Field(w, "reason");
  std::string line = Field(w, "state");
  if (reason != "-" && !reason.empty()) line += " (" + reason + ")";
  return line;
}

// Uploads one built module unless it is the function's current version
// already (re-applying a spec must not restart instances of other
// workflows that use the same function). Prints what happened.
Status Upload(const Remote& remote, const CodeRef& ref, const std::string& module) {
  std::string sha = Sha256Hex(module);
  auto current = remote.Send("GET", "/api/functions/" + UrlEncode(ref.function), "",
                             "application/json", std::chrono::seconds(30));
  if (!current.ok()) return current.status();
  if (current->status == 200) {
    auto v = ParseJson(current->body);
    if (v.ok() && v->is_object() && Field(v->as_object(), "sha256") == sha) {
      if (!remote.json()) {
        std::printf("unchanged %s version %s (sha256 %s) from %s\n", ref.function.c_str(),
                    Field(v->as_object(), "version").c_str(), ShortHash(sha).c_str(),
                    ref.path.c_str());
      }
      return OkStatus();
    }
  } else if (current->status != 404) {
    return remote.ErrorFor(*current);
  }
  auto answer = UploadModule(remote, ref.function, module, "");
  if (!answer.ok()) {
    return Status(answer.status().code(), ref.field + " (" + ref.path + "): deploying " +
                                              ref.function + ": " + answer.status().message());
  }
  if (!remote.json()) {
    std::string version = answer->is_object() ? Field(answer->as_object(), "version") : "?";
    std::printf("deployed %s version %s (sha256 %s, %s) from %s\n", ref.function.c_str(),
                version.c_str(), ShortHash(sha).c_str(), HumanBytes(module.size()).c_str(),
                ref.path.c_str());
  }
  return OkStatus();
}

int Apply(const WorkflowArgs& a) {
  auto wf = LoadWorkflowFile(a.file);
  if (!wf.ok()) return Report(wf.status());

  std::string sdk;
  bool needs_sdk = false;
  for (const CodeRef& ref : wf->code) needs_sdk |= ref.kind == CodeKind::kC;
  if (needs_sdk) {
    SdkSearch search;
    search.flag = a.sdk;
    search.env = EnvVar("AETHER_SDK");
    search.spec_dir = wf->dir;
    std::error_code ec;
    search.cwd = fs::current_path(ec).string();
    search.exe = ExePath();
    auto found = FindSdkDir(search);
    if (!found.ok()) return Report(found.status());
    sdk = *found;
  }

  // Resolve first: a bad --control is a usage error, found before building.
  std::optional<Remote> remote;
  if (!a.dry_run) {
    auto resolved = Remote::Resolve(a.remote);
    if (!resolved.ok()) return Report(resolved.status());
    remote = std::move(resolved).value();
  }

  // Build everything before uploading anything: a compile error in the
  // third function must not leave the first two deployed.
  std::unique_ptr<ModuleBuilder> builder = NewToolchainBuilder(FindToolchain(sdk), a.file);
  std::vector<std::string> modules;
  for (const CodeRef& ref : wf->code) {
    auto module = builder->Build(ref);
    if (!module.ok()) return Report(module.status());
    modules.push_back(std::move(module).value());
  }
  json::object spec = RewriteSpec(*wf);

  if (a.dry_run) {
    if (!a.remote.json) {
      for (size_t i = 0; i < wf->code.size(); ++i) {
        std::printf("built %s (%s) for %s\n", wf->code[i].path.c_str(),
                    HumanBytes(modules[i].size()).c_str(), wf->code[i].function.c_str());
      }
      std::printf("dry run: nothing uploaded; the spec to post:\n");
    }
    std::printf("%s\n", ToJson(spec).c_str());
    return 0;
  }

  for (size_t i = 0; i < wf->code.size(); ++i) {
    if (Status st = Upload(*remote, wf->code[i], modules[i]); !st.ok()) {
      return Report(Status(st.code(), a.file + ": " + st.message()));
    }
  }

  auto response = remote->Send("POST", "/api/workflows", ToJson(spec), "application/json",
                               std::chrono::seconds(60));
  if (!response.ok()) return Report(response.status());
  if (response->status < 200 || response->status >= 300) {
    Status st = remote->ErrorFor(*response);
    std::string code = Remote::ErrorCode(*response);
    if (response->status == 404 && code != "invalid_spec") {
      return Report(NotFound("the control plane at " + remote->control() +
                             " has no workflow API (POST /api/workflows: 404)"));
    }
    // Validation errors name a JSON path: of the spec file, so say which.
    if (code == "invalid_spec") return Report(Status(st.code(), a.file + ": " + st.message()));
    if (response->status == 409) {
      const json::value* name = wf->spec.if_contains("name");
      std::string id = name != nullptr && name->is_string() ? std::string(name->as_string()) : "ID";
      return Report(
          Status(st.code(), st.message() + " (to replace it: aether workflow rm " + id + ")"));
    }
    return Report(st);
  }
  if (remote->json()) {
    PrintRaw(response->body);
    return 0;
  }
  auto v = ParseJson(response->body);
  if (!v.ok() || !v->is_object()) {
    return Report(Internal("the control plane sent an answer that is not a JSON object"));
  }
  const json::object& w = v->as_object();
  // What Aether ignored in an EDGELESS-shaped spec.
  if (const json::value* warnings = w.if_contains("warnings"); warnings && warnings->is_array()) {
    for (const json::value& line : warnings->get_array()) {
      if (line.is_string())
        std::fprintf(stderr, "warning: %s: %s\n", a.file.c_str(), line.get_string().c_str());
    }
  }
  std::printf("workflow %s: %s\n", Field(w, "id").c_str(), StateLine(w).c_str());
  PrintIngress(w);
  return 0;
}

// A GET/DELETE of one workflow; 404 is "no workflow ID".
template <typename Human>
int OneWorkflow(const WorkflowArgs& a, std::string_view method, Human human) {
  if (Status st = CheckWorkflowId(a.id); !st.ok()) return Report(st);
  auto remote = Remote::Resolve(a.remote);
  if (!remote.ok()) return Report(remote.status());
  auto r = remote->Send(method, "/api/workflows/" + UrlEncode(a.id), "", "application/json",
                        std::chrono::seconds(30));
  if (!r.ok()) return Report(r.status());
  if (r->status == 404) return Report(NotFound("no workflow " + a.id));
  if (r->status < 200 || r->status >= 300) return Report(remote->ErrorFor(*r));
  if (remote->json()) {
    PrintRaw(r->body);
    return 0;
  }
  auto v = ParseJson(r->body);
  if (!v.ok() || !v->is_object()) {
    return Report(Internal("the control plane sent an answer that is not a JSON object"));
  }
  return human(v->as_object());
}

int List(const WorkflowArgs& a) {
  auto remote = Remote::Resolve(a.remote);
  if (!remote.ok()) return Report(remote.status());
  auto r = remote->Send("GET", "/api/workflows", "", "application/json", std::chrono::seconds(30));
  if (!r.ok()) return Report(r.status());
  if (r->status == 404) {
    return Report(NotFound("the control plane at " + remote->control() +
                           " has no workflow API (GET /api/workflows: 404)"));
  }
  if (r->status < 200 || r->status >= 300) return Report(remote->ErrorFor(*r));
  if (remote->json()) {
    PrintRaw(r->body);
    return 0;
  }
  auto v = ParseJson(r->body);
  const json::value* list = nullptr;
  if (v.ok() && v->is_object()) list = v->as_object().if_contains("workflows");
  if (list == nullptr || !list->is_array()) {
    return Report(Internal("unexpected answer from the control plane"));
  }
  Table t({"ID", "NAME", "STATE", "COMPONENTS", "INSTANCES", "CREATED"});
  for (const json::value& item : list->as_array()) {
    if (!item.is_object()) continue;
    const json::object& w = item.as_object();
    std::string name = Field(w, "name");
    t.AddRow({Field(w, "id"), name.empty() ? "-" : name, Field(w, "state"), Field(w, "components"),
              Field(w, "instances"), AgeCell(w.if_contains("created_at"))});
  }
  if (t.empty()) {
    std::printf("no workflows (try: aether workflow apply FILE)\n");
  } else {
    t.Print(stdout);
  }
  return 0;
}

// One line of a table cell: newlines folded, long text cut.
std::string OneLine(std::string text, size_t max) {
  for (char& c : text) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return Truncate(text, max);
}

int Show(const WorkflowArgs& a) {
  return OneWorkflow(a, "GET", [](const json::object& w) {
    std::string name = Field(w, "name");
    std::string reason = Field(w, "reason");
    std::printf("id:       %s\n", Field(w, "id").c_str());
    std::printf("name:     %s\n", name.empty() ? "-" : name.c_str());
    std::printf("state:    %s\n", Field(w, "state").c_str());
    if (!reason.empty() && reason != "-") std::printf("reason:   %s\n", reason.c_str());
    std::printf("created:  %s\n", TimeCell(w.if_contains("created_at")).c_str());
    std::printf("\n");
    const json::value* instances = w.if_contains("instances");
    if (instances == nullptr || !instances->is_array() || instances->as_array().empty()) {
      std::printf("no instances\n");
    } else {
      // A cluster controller's instances have a domain, and the node in it.
      bool domains = false;
      for (const json::value& item : instances->as_array()) {
        domains |= item.is_object() && item.as_object().contains("domain");
      }
      std::vector<std::string> head{"INSTANCE", "NODE",     "STATE",     "EVENTS",
                                    "FAILURES", "RESTARTS", "LAST ERROR"};
      if (domains) head.insert(head.begin() + 1, "DOMAIN");
      Table t(head);
      for (const json::value& item : instances->as_array()) {
        if (!item.is_object()) continue;
        const json::object& i = item.as_object();
        std::string node = Field(i, "node_id");
        std::string error = Field(i, "last_error");
        std::vector<std::string> row{Field(i, "id"),
                                     node.empty() ? "-" : node,
                                     Field(i, "state"),
                                     Field(i, "events"),
                                     Field(i, "failures"),
                                     Field(i, "restarts"),
                                     error.empty() ? "-" : OneLine(error, 80)};
        if (domains) {
          std::string domain = Field(i, "domain");
          row.insert(row.begin() + 1, domain.empty() ? "-" : domain);
        }
        t.AddRow(row);
      }
      t.Print(stdout);
    }
    const json::value* ingress = w.if_contains("ingress");
    if (ingress != nullptr && ingress->is_array() && !ingress->as_array().empty()) {
      std::printf("\n");
      PrintIngress(w);
    }
    return 0;
  });
}

int Remove(const WorkflowArgs& a) {
  return OneWorkflow(a, "DELETE", [&a](const json::object&) {
    std::printf("deleted workflow %s\n", a.id.c_str());
    return 0;
  });
}

int Migrate(const WorkflowArgs& a) {
  if (Status st = CheckWorkflowId(a.id); !st.ok()) return Report(st);
  if (a.node.empty() == a.domain.empty()) {
    return Report(UsageError(
        "give --node (the node to move to) or, on a cluster controller, --domain (the domain)"));
  }
  auto remote = Remote::Resolve(a.remote);
  if (!remote.ok()) return Report(remote.status());
  const std::string& target = a.node.empty() ? a.domain : a.node;
  json::object body{{a.node.empty() ? "domain" : "node", target}};
  if (!a.component.empty()) body["component"] = a.component;
  std::string raw;
  Result<json::value> answer =
      remote->Call("POST", "/api/workflows/" + UrlEncode(a.id) + "/migrate", json::serialize(body),
                   "application/json", std::chrono::seconds(30), &raw);
  if (!answer.ok()) return Report(answer.status());
  if (remote->json()) {
    PrintRaw(raw);
    return 0;
  }
  int64_t moved = answer->is_object() ? IntField(answer->as_object(), "moved") : 0;
  std::printf("moved %lld instance%s of %s%s to %s\n", static_cast<long long>(moved),
              moved == 1 ? "" : "s", a.id.c_str(),
              a.component.empty() ? "" : (" (" + a.component + ")").c_str(),
              (a.node.empty() ? "domain " + target : target).c_str());
  return 0;
}

}  // namespace

void AddWorkflowCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<WorkflowArgs>();
  CLI::App* workflow = app.add_subcommand(
      "workflow",
      "Apply, list, inspect and remove workflows (functions and resources wired together)");
  workflow->require_subcommand(1);

  CLI::App* apply = workflow->add_subcommand(
      "apply", "Build and upload the spec's code paths, then create the workflow");
  apply->add_option("file", args->file, "Workflow spec (JSON; Aether or EDGELESS field names)")
      ->required();
  apply->add_option("--sdk", args->sdk,
                    "Directory with the C SDK's aether.h, for .c code paths (default: "
                    "$AETHER_SDK, functions/sdk of the source tree, /usr/share/aether/sdk)");
  apply->add_flag(
      "--dry-run", args->dry_run,
      "Check the spec and build its code paths; upload nothing, print the spec to post");
  AddRemoteFlags(apply, &args->remote);
  apply->callback([args, exit_code] { *exit_code = Apply(*args); });

  CLI::App* ls = workflow->add_subcommand("ls", "List workflows");
  AddRemoteFlags(ls, &args->remote);
  ls->callback([args, exit_code] { *exit_code = List(*args); });

  CLI::App* show =
      workflow->add_subcommand("show", "A workflow's state, instances and ingress URLs");
  show->add_option("id", args->id, "Workflow id (its name, or wf-XXXXXXXX)")->required();
  AddRemoteFlags(show, &args->remote);
  show->callback([args, exit_code] { *exit_code = Show(*args); });

  CLI::App* rm = workflow->add_subcommand("rm", "Delete a workflow and stop its instances");
  rm->add_option("id", args->id, "Workflow id")->required();
  AddRemoteFlags(rm, &args->remote);
  rm->callback([args, exit_code] { *exit_code = Remove(*args); });

  CLI::App* migrate = workflow->add_subcommand(
      "migrate", "Move a workflow's instances (or one component's) to a node now");
  migrate->add_option("id", args->id, "Workflow id")->required();
  migrate->add_option("--component", args->component, "Only this component's instances");
  migrate->add_option("--node", args->node, "The node to move them to");
  migrate->add_option("--domain", args->domain,
                      "On a cluster controller: the domain to move the components to");
  AddRemoteFlags(migrate, &args->remote);
  migrate->callback([args, exit_code] { *exit_code = Migrate(*args); });
}

}  // namespace aether::cli
