#include <cstdio>
#include <fstream>

#include "cli/commands.h"
#include "common/config.h"

namespace aether::cli {

void AddConfigCommand(CLI::App& app, int* exit_code) {
  CLI::App* config = app.add_subcommand("config", "Configuration helpers");
  config->require_subcommand(1);
  CLI::App* tmpl = config->add_subcommand(
      "template", "Print a commented configuration file with every key and its default");
  static std::string role;
  static std::string output;
  tmpl->add_option("role", role, "engine, control or cli")->required();
  tmpl->add_option("-o,--output", output, "Write to this file instead of stdout");
  tmpl->callback([exit_code] {
    auto text = ConfigTemplate(role);
    if (!text.ok()) {
      std::fprintf(stderr, "aether: %s\n", text.status().message().c_str());
      *exit_code = 2;
      return;
    }
    if (output.empty()) {
      std::fputs(text->c_str(), stdout);
      return;
    }
    std::ofstream out(output);
    out << *text;
    if (!out) {
      std::fprintf(stderr, "aether: cannot write %s\n", output.c_str());
      *exit_code = 1;
    }
  });
}

}  // namespace aether::cli
