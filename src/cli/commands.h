// Subcommands of the `aether` CLI. Each registers itself on the CLI11 app
// and returns the process exit code through *exit_code when it runs.
#pragma once

#include <CLI/CLI.hpp>

namespace aether::cli {

void AddRunCommand(CLI::App& app, int* exit_code);
void AddConfigCommand(CLI::App& app, int* exit_code);

}  // namespace aether::cli
