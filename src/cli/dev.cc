// `aether dev`: Aether-in-a-box. A control plane and one engine (or, with
// --domains, a cluster controller over domains with their engines) in this one
// process (the same library entry points as aether-control and
// aether-engine), state under one data directory, optional example
// deploys, and a printout of exactly what to try. Runs until SIGINT or
// SIGTERM, then stops the engine (so it stops beating) and the control plane.
#include <spdlog/sinks/stdout_color_sinks.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/remote.h"
#include "cli/table.h"
#include "common/config.h"
#include "common/http_server.h"
#include "common/log.h"
#include "common/node_identity.h"
#include "common/sha256.h"
#include "control/control_service.h"
#include "engine/engine_service.h"

namespace aether::cli {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

struct DevArgs {
  std::string host = "127.0.0.1";
  uint16_t port = control::kDefaultControlPort;
  uint16_t engine_port = engine::kDefaultEnginePort;
  std::string data_dir = ".aether";
  std::string examples;
  std::string node_id = "dev";
  std::string log_level = "info";
  int domains = 0;  // > 0: a cluster controller over this many domains
  int nodes = 1;    // engines per domain
};

// Deploys every DIR/*.wasm (name = file stem), in name order. A file whose
// stem is not a valid function name is skipped with a note, not fatal: a
// directory of examples may hold other things.
Result<std::vector<std::string>> DeployExamples(const Remote& remote, const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return UsageError("--deploy-examples: " + dir + " is not a directory");
  }
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_regular_file() && entry.path().extension() == ".wasm") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  // What is current already: a restart of `aether dev` on the same data dir
  // must not pile up identical versions.
  std::map<std::string, std::pair<std::string, std::string>> current;  // name -> sha, version
  if (auto list = remote.Call("GET", "/api/functions"); list.ok() && list->is_object()) {
    const json::value* items = list->as_object().if_contains("functions");
    if (items != nullptr && items->is_array()) {
      for (const json::value& f : items->as_array()) {
        if (!f.is_object()) continue;
        current[Field(f.as_object(), "name")] = {Field(f.as_object(), "sha256"),
                                                 Field(f.as_object(), "version")};
      }
    }
  }
  std::vector<std::string> deployed;
  for (const fs::path& file : files) {
    std::string name = file.stem().string();
    if (Status st = CheckFunctionName(name); !st.ok()) {
      std::fprintf(stderr, "aether dev: skipping %s: %s\n", file.c_str(), st.message().c_str());
      continue;
    }
    std::ifstream in(file, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (auto it = current.find(name); it != current.end() && it->second.first == Sha256Hex(bytes)) {
      std::printf("unchanged %-15s version %s (%s)\n", name.c_str(), it->second.second.c_str(),
                  HumanBytes(bytes.size()).c_str());
      deployed.push_back(name);
      continue;
    }
    auto answer = UploadModule(remote, name, bytes, "");
    if (!answer.ok()) {
      std::fprintf(stderr, "aether dev: cannot deploy %s: %s\n", file.c_str(),
                   answer.status().message().c_str());
      continue;
    }
    std::string version = answer->is_object() ? Field(answer->as_object(), "version") : "?";
    std::printf("deployed %-16s version %s (%s)\n", name.c_str(), version.c_str(),
                HumanBytes(bytes.size()).c_str());
    deployed.push_back(name);
  }
  return deployed;
}

// The exact lines to paste. The token is read from its file by the shell,
// so it never appears on the terminal or in scrollback.
void PrintTryThis(const DevArgs& a, const control::ControlService& control,
                  const engine::EngineService& engine, const std::vector<std::string>& deployed) {
  std::string fn = deployed.empty() ? "hello"
                   : std::find(deployed.begin(), deployed.end(), "hello") != deployed.end()
                       ? "hello"
                       : deployed.front();
  std::string token_file = control.admin_token_file();
  std::string auth = token_file.empty() ? "-H \"Authorization: Bearer $AETHER_TOKEN\""
                                        : "-H \"Authorization: Bearer $(cat " + token_file + ")\"";
  // The CLI finds ./.aether/control/admin.token and 127.0.0.1:9090 by
  // itself; anything else needs to be exported.
  bool default_url = control.url() == std::string(kDefaultControlUrl);
  bool default_token =
      fs::path(token_file).lexically_normal() == fs::path(".aether/control/admin.token");
  std::printf("\nAether is running: control plane %s, engine %s (node \"%s\"), data in %s/\n",
              control.url().c_str(), engine.url().c_str(), a.node_id.c_str(), a.data_dir.c_str());
  if (deployed.empty()) {
    std::printf("\nNo functions yet. Deploy one:\n  aether deploy hello path/to/hello.wasm\n");
  }
  std::printf("\nTry, from another terminal in this directory:\n");
  if (!default_url || !default_token) {
    if (!default_url) std::printf("  export AETHER_CONTROL=%s\n", control.url().c_str());
    if (!default_token && !token_file.empty()) {
      std::printf("  export AETHER_TOKEN=$(cat %s)\n", token_file.c_str());
    }
  }
  std::printf("  aether invoke %s --input '\"world\"'\n", fn.c_str());
  std::printf("  aether functions ls\n");
  std::printf("  aether nodes ls\n");
  std::printf("  aether events\n");
  std::printf("  curl -s %s/api/invoke/%s %s -d '{\"input\":\"world\"}'\n", control.url().c_str(),
              fn.c_str(), auth.c_str());
  std::printf("  curl -s %s/execute -d '{\"function\":\"%s\",\"input\":\"world\"}'\n",
              engine.url().c_str(), fn.c_str());
  // From a checkout, the example workflow (docs/workflows.md).
  if (fs::exists("examples/pipeline/workflow.json")) {
    std::printf("\nA workflow (http-ingress -> parse -> filter -> file-log, built from source):\n");
    std::printf("  aether workflow apply examples/pipeline/workflow.json\n");
    std::printf("  curl -s %s/wf/pipeline/orders -d 'amount=150&item=book'\n",
                engine.url().c_str());
    std::printf("  aether workflow show pipeline\n");
  }
  std::printf("\nCtrl-C to stop.\n\n");
  std::fflush(stdout);
}

// A small cluster in this process: a controller (role cluster) at --port,
// `domains` domain control planes (site-1, site-2, ...) on free ports,
// each with `nodes` engines; the examples are deployed at the controller.
int DevDomains(const DevArgs& a) {
  if (a.domains > 8 || a.nodes < 1 || a.nodes > 8) {
    return Report(UsageError("--domains must be 1 to 8 and --nodes 1 to 8"));
  }
  Config cc;
  cc.server.host = a.host;
  cc.database.path = a.data_dir + "/controller/aether.db";
  cc.domain.role = std::string(kRoleCluster);
  auto controller = control::ControlService::Create(cc, a.port);
  if (!controller.ok()) return Report(controller.status());
  if (Status st = (*controller)->Start(); !st.ok()) {
    return Report(Unavailable("controller: " + st.message() + " (use --port to pick another)"));
  }
  std::fprintf(stderr, "aether dev: control plane listening on %s (the cluster controller)\n",
               (*controller)->url().c_str());
  std::vector<std::unique_ptr<control::ControlService>> domains;
  std::vector<std::unique_ptr<engine::EngineService>> engines;
  std::vector<std::string> lines;
  for (int d = 1; d <= a.domains; ++d) {
    std::string site = "site-" + std::to_string(d);
    std::string dir = a.data_dir + "/" + site;
    Config dc;
    dc.server.host = a.host;
    dc.database.path = dir + "/control/aether.db";
    dc.domain.role = std::string(kRoleDomain);
    dc.domain.id = site;
    dc.domain.controller = {(*controller)->url()};
    dc.domain.join_token = (*controller)->domain_join_token();
    dc.domain.labels = {{"site", site}};
    auto domain = control::ControlService::Create(dc, 0);
    if (!domain.ok()) return Report(domain.status());
    if (Status st = (*domain)->Start(); !st.ok()) return Report(st);
    lines.push_back("  " + site + ": control plane " + (*domain)->url() +
                    " (token: " + (*domain)->admin_token_file() + ")");
    for (int n = 1; n <= a.nodes; ++n) {
      Config ec;
      ec.server.host = a.host;
      ec.runtime.data_dir = dir + "/engine-" + std::to_string(n);
      ec.control.urls = {(*domain)->url()};
      ec.control.node_id = site + "-edge-" + std::to_string(n);
      ec.control.labels = {{"site", site}};
      ec.auth.join_token = (*domain)->join_token();
      auto engine = engine::EngineService::Create(ec, 0);
      if (!engine.ok()) return Report(engine.status());
      if (Status st = (*engine)->Start(); !st.ok()) return Report(st);
      lines.push_back("    engine " + ec.control.node_id + " " + (*engine)->url());
      engines.push_back(std::move(*engine));
    }
    domains.push_back(std::move(*domain));
  }
  if (!a.examples.empty()) {
    Remote remote = Remote::ForUrl((*controller)->url(), (*controller)->admin_token());
    auto names = DeployExamples(remote, a.examples);
    if (!names.ok()) return Report(names.status());
  }
  std::printf("\nAether is running as a cluster: controller %s, %d domain%s, data in %s/\n",
              (*controller)->url().c_str(), a.domains, a.domains == 1 ? "" : "s",
              a.data_dir.c_str());
  for (const std::string& l : lines) std::printf("%s\n", l.c_str());
  std::printf("\nTry, from another terminal in this directory (docs/domains.md):\n");
  std::printf("  export AETHER_CONTROL=%s AETHER_TOKEN=$(cat %s)\n", (*controller)->url().c_str(),
              (*controller)->admin_token_file().c_str());
  std::printf("  aether domains ls\n");
  if (fs::exists("examples/pipeline/workflow.json")) {
    std::printf("  aether workflow apply examples/pipeline/workflow.json\n");
    std::printf("  aether workflow show pipeline\n");
    std::printf("  aether workflow migrate pipeline --domain site-%d\n", a.domains);
  }
  std::printf("\nCtrl-C to stop.\n\n");
  std::fflush(stdout);

  WaitForShutdownSignal();
  std::fprintf(stderr, "aether dev: shutting down\n");
  for (auto& e : engines) e->Stop();
  for (auto& d : domains) d->Stop();
  (*controller)->Stop();
  return 0;
}

int Dev(const DevArgs& a) {
  spdlog::set_default_logger(spdlog::stderr_color_mt("aether-dev"));
  if (Status st = SetLogLevel(a.log_level); !st.ok()) return Report(UsageError(st.message()));
  if (a.domains != 0) return DevDomains(a);

  Config control_config;
  control_config.server.host = a.host;
  control_config.database.path = a.data_dir + "/control/aether.db";
  auto control = control::ControlService::Create(control_config, a.port);
  if (!control.ok()) {
    std::string m = control.status().message();
    if (m.find("in use") != std::string::npos) m += " (another aether dev? use another --data-dir)";
    return Report(Status(control.status().code(), m));
  }
  if (Status st = (*control)->Start(); !st.ok()) {
    return Report(Unavailable("control plane: " + st.message() + " (use --port to pick another)"));
  }
  // The same line aether-control prints: scripts and tests wait for it.
  std::fprintf(stderr, "aether dev: control plane listening on %s\n", (*control)->url().c_str());

  Config engine_config;
  engine_config.server.host = a.host;
  engine_config.runtime.data_dir = a.data_dir + "/engine";
  engine_config.control.urls = {(*control)->url()};
  engine_config.control.node_id = a.node_id;
  engine_config.auth.join_token = (*control)->join_token();
  // DIR/engine was deleted (or never there) while DIR/control remembers the
  // node: its credential is gone, and the join token cannot take the id
  // back. Here the operator is the user at this terminal, so do what a
  // production operator would (aether nodes rm) and let it join anew.
  if (!fs::exists(NodeCredentialPath(engine_config.runtime.data_dir))) {
    Remote admin = Remote::ForUrl((*control)->url(), (*control)->admin_token());
    auto removed = admin.Send("DELETE", "/api/nodes/" + UrlEncode(a.node_id), "",
                              "application/json", std::chrono::seconds(10));
    if (removed.ok() && removed->status == 200) {
      std::fprintf(stderr, "aether dev: %s/engine has no node credential; re-admitting node %s\n",
                   a.data_dir.c_str(), a.node_id.c_str());
    }
  }
  auto engine = engine::EngineService::Create(engine_config, a.engine_port);
  if (!engine.ok()) return Report(engine.status());
  if (Status st = (*engine)->Start(); !st.ok()) {
    return Report(Unavailable("engine: " + st.message() + " (use --engine-port to pick another)"));
  }
  std::fprintf(stderr, "aether dev: engine listening on %s\n", (*engine)->url().c_str());

  std::vector<std::string> deployed;
  if (!a.examples.empty()) {
    Remote remote = Remote::ForUrl((*control)->url(), (*control)->admin_token());
    auto names = DeployExamples(remote, a.examples);
    if (!names.ok()) return Report(names.status());
    deployed = std::move(names).value();
  }
  PrintTryThis(a, **control, **engine, deployed);

  WaitForShutdownSignal();
  std::fprintf(stderr, "aether dev: shutting down\n");
  (*engine)->Stop();
  (*control)->Stop();
  return 0;
}

}  // namespace

void AddDevCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<DevArgs>();
  CLI::App* cmd = app.add_subcommand(
      "dev", "Aether-in-a-box: a control plane and an engine in one process, for development");
  cmd->add_option("--host", args->host, "Address both servers listen on")->capture_default_str();
  cmd->add_option("--port", args->port, "Control plane port (0 = a free port)")
      ->capture_default_str();
  cmd->add_option("--engine-port", args->engine_port, "Engine port (0 = a free port)")
      ->capture_default_str();
  cmd->add_option("--data-dir", args->data_dir,
                  "State: DIR/control (store, modules, tokens) and DIR/engine (compile cache)")
      ->capture_default_str();
  cmd->add_option("--deploy-examples", args->examples,
                  "Deploy every DIR/*.wasm (name = file name without .wasm) at start");
  cmd->add_option("--node-id", args->node_id, "The engine's node id")->capture_default_str();
  cmd->add_option("--domains", args->domains,
                  "A cluster instead: a controller (at --port) over this many domains, each a "
                  "control plane with --nodes engines (docs/domains.md)");
  cmd->add_option("--nodes", args->nodes, "Engines per domain, with --domains")
      ->capture_default_str();
  cmd->add_option("--log-level", args->log_level, "trace, debug, info, warn, error or off")
      ->capture_default_str();
  cmd->callback([args, exit_code] { *exit_code = Dev(*args); });
}

}  // namespace aether::cli
