// aether-control: the control plane. main() only parses arguments and wires
// the ControlService; logs (and the "listening on" line tools wait for) go
// to stderr.
#include <spdlog/sinks/stdout_color_sinks.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <optional>
#include <string>

#include "common/config.h"
#include "common/endpoint_list.h"
#include "common/http_server.h"
#include "common/log.h"
#include "control/api.h"
#include "control/control_service.h"

namespace {

int Fail(const std::string& message) {
  std::fprintf(stderr, "aether-control: %s\n", message.c_str());
  return 1;
}

void Print(const std::string& line) {
  // Printed whatever the log level: scripts and tests wait for these lines.
  if (spdlog::should_log(spdlog::level::info)) {
    LOG_INFO("{}", line);
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"aether-control: the Aether control plane (function registry, nodes, gateway)"};
  std::string config_path;
  std::optional<uint16_t> port;
  std::string role;
  app.add_option("--config", config_path, "TOML configuration file (default: built-in defaults)");
  app.add_option("--port", port, "Port to listen on, overriding [server] port; 0 = a free port");
  app.add_option("--role", role,
                 "both (default: one control plane over its nodes), cluster (the controller "
                 "of orchestration domains) or domain (a domain under a controller); "
                 "overrides [domain] role");
  app.set_version_flag("--version",
                       "aether-control " + std::string(aether::control::kControlVersion));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    return Fail(std::string(e.what()) + " (see aether-control --help)");
  }

  spdlog::set_default_logger(spdlog::stderr_color_mt("aether-control"));

  aether::Result<aether::Config> config = aether::LoadConfig(config_path);
  if (!config.ok()) return Fail(config.status().message());
  if (aether::Status st = aether::SetLogLevel(config->log.level); !st.ok())
    return Fail(st.message());
  if (!role.empty()) {
    if (aether::Status st = aether::ValidateRole(role); !st.ok()) return Fail("--" + st.message());
    config->domain.role = role;
  }

  auto service = aether::control::ControlService::Create(*config, port);
  if (!service.ok()) return Fail(service.status().message());
  if (aether::Status st = (*service)->Start(); !st.ok()) return Fail(st.message());

  auto& s = **service;
  Print("aether-control listening on " + s.url() + " (data in " + s.data_dir() + ")");
  // Where the tokens are, never the tokens themselves.
  Print("admin token: " + (s.admin_token_file().empty()
                               ? std::string("[auth] token in the configuration")
                               : s.admin_token_file()));
  Print("join token: " + (s.join_token_file().empty()
                              ? std::string("[auth] join_token in the configuration")
                              : s.join_token_file()));
  if (config->domain.role == aether::kRoleCluster) {
    Print("role: cluster controller; domain join token: " +
          (s.domain_join_token_file().empty()
               ? std::string("[auth] domain_join_token in the configuration")
               : s.domain_join_token_file()));
  } else if (config->domain.role == aether::kRoleDomain) {
    Print("role: domain under the controller at " + aether::JoinUrls(config->domain.controller));
  }

  aether::WaitForShutdownSignal();
  LOG_INFO("shutting down");
  s.Stop();
  return 0;
}
