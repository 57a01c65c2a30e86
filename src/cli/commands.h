// Subcommands of the `aether` CLI. Each registers itself on the CLI11 app
// and returns the process exit code through *exit_code when it runs.
// Exit codes of the remote commands: 0 ok, 1 the server said no or could
// not be reached, 2 bad usage (see remote.h).
#pragma once

#include <CLI/CLI.hpp>

namespace aether::cli {

void AddRunCommand(CLI::App& app, int* exit_code);
void AddConfigCommand(CLI::App& app, int* exit_code);
void AddDeployCommand(CLI::App& app, int* exit_code);
void AddInvokeCommand(CLI::App& app, int* exit_code);
void AddFunctionsCommand(CLI::App& app, int* exit_code);
void AddNodesCommand(CLI::App& app, int* exit_code);
void AddDomainsCommand(CLI::App& app, int* exit_code);
void AddEventsCommand(CLI::App& app, int* exit_code);
void AddClusterCommand(CLI::App& app, int* exit_code);
void AddWorkflowCommand(CLI::App& app, int* exit_code);
void AddBenchCommand(CLI::App& app, int* exit_code);
// Only in builds that have the control plane library (see dev.cc).
void AddDevCommand(CLI::App& app, int* exit_code);

}  // namespace aether::cli
