// aether: the command-line interface. main() only wires subcommands.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/commands.h"
#include "common/log.h"

int main(int argc, char** argv) {
  CLI::App app{"aether: run WebAssembly functions locally and on an Aether platform"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("aether 0.1.0"));
  int exit_code = 0;
  aether::cli::AddRunCommand(app, &exit_code);
  aether::cli::AddDeployCommand(app, &exit_code);
  aether::cli::AddInvokeCommand(app, &exit_code);
  aether::cli::AddFunctionsCommand(app, &exit_code);
  aether::cli::AddNodesCommand(app, &exit_code);
  aether::cli::AddDomainsCommand(app, &exit_code);
  aether::cli::AddEventsCommand(app, &exit_code);
  aether::cli::AddClusterCommand(app, &exit_code);
  aether::cli::AddWorkflowCommand(app, &exit_code);
  aether::cli::AddBenchCommand(app, &exit_code);
  aether::cli::AddDevCommand(app, &exit_code);
  aether::cli::AddConfigCommand(app, &exit_code);
  spdlog::set_level(spdlog::level::warn);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "aether: %s (see aether --help)\n", e.what());
    return 2;
  }
  return exit_code;
}
