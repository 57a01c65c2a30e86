// aether-engine: the edge node. main() only parses arguments and wires the
// EngineService; logs (and the "listening on" line tools wait for) go to stderr.
#include <spdlog/sinks/stdout_color_sinks.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "common/config.h"
#include "common/http_server.h"
#include "common/log.h"
#include "engine/engine_service.h"

namespace {

int Fail(const std::string& message) {
  std::fprintf(stderr, "aether-engine: %s\n", message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"aether-engine: the Aether edge node (runs WebAssembly functions over HTTP)"};
  std::string config_path;
  std::optional<uint16_t> port;
  app.add_option("--config", config_path, "TOML configuration file (default: built-in defaults)");
  app.add_option("--port", port, "Port to listen on, overriding [server] port; 0 = a free port");
  std::string ca_file;
  app.add_option("--ca-file", ca_file,
                 "PEM CA to trust for https:// control plane and engine URLs (a private CA); "
                 "overrides $AETHER_CA_FILE and [control] ca_file");
  app.set_version_flag("--version", "aether-engine " + std::string(aether::engine::kEngineVersion));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    return Fail(std::string(e.what()) + " (see aether-engine --help)");
  }

  // Servers log to stderr; colors only on a terminal.
  spdlog::set_default_logger(spdlog::stderr_color_mt("aether-engine"));

  aether::Result<aether::Config> config = aether::LoadConfig(config_path);
  if (!config.ok()) return Fail(config.status().message());
  if (const char* env = std::getenv("AETHER_CA_FILE"); ca_file.empty() && env != nullptr) {
    ca_file = env;
  }
  if (!ca_file.empty()) config->control.ca_file = ca_file;
  if (aether::Status st = aether::SetLogLevel(config->log.level); !st.ok()) {
    return Fail(st.message());
  }

  auto service = aether::engine::EngineService::Create(*config, port);
  if (!service.ok()) return Fail(service.status().message());
  if (aether::Status st = (*service)->Start(); !st.ok()) return Fail(st.message());

  // Printed whatever the log level: scripts and tests wait for this line.
  std::string line =
      "aether-engine listening on " + (*service)->url() + " (" +
      std::to_string((*service)->function_count()) + " functions from " +
      ((*service)->functions_dir().empty() ? "no functions_dir" : (*service)->functions_dir()) +
      ")";
  if (spdlog::should_log(spdlog::level::info)) {
    LOG_INFO("{}", line);
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }

  aether::WaitForShutdownSignal();
  LOG_INFO("shutting down");
  (*service)->Stop();
  return 0;
}
