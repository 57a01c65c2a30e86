// `aether deploy NAME FILE.wasm`: uploads a module as the next version of a
// function. The bytes go raw (PUT, application/wasm) rather than base64 in
// JSON, so a module uses its own size of the control plane's body limit.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/remote.h"
#include "cli/table.h"
#include "common/units.h"

namespace aether::cli {
namespace {

namespace json = boost::json;

struct DeployArgs {
  RemoteFlags remote;
  std::string name;
  std::string file;
  std::vector<std::string> env;
  std::string memory_limit;
  std::string timeout;
};

// Progress only above this size: smaller uploads finish before anyone looks.
constexpr uint64_t kProgressBytes = 1ull << 20;

Result<std::string> ReadModule(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return UsageError("cannot read " + path + ": " + std::strerror(errno));
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return UsageError("cannot read " + path + ": " + std::strerror(errno));
  if (bytes.empty()) return UsageError(path + " is empty");
  return bytes;
}

// The settings travel as query parameters of the PUT; each is checked here
// first so that a typo is a usage error, not a round trip.
Result<std::string> Query(const DeployArgs& a) {
  std::string q;
  auto add = [&q](std::string_view key, std::string_view value) {
    q += q.empty() ? '?' : '&';
    q += key;
    q += '=';
    q += UrlEncode(value);
  };
  for (const std::string& e : a.env) {
    size_t eq = e.find('=');
    if (eq == std::string::npos || eq == 0) {
      return UsageError("--env expects KEY=VALUE, got \"" + e + "\"");
    }
    add("env", e);
  }
  if (!a.memory_limit.empty()) {
    auto m = ParseSize(a.memory_limit);
    if (!m.ok()) return UsageError("--memory-limit: " + m.status().message());
    add("memory_limit", a.memory_limit);
  }
  if (!a.timeout.empty()) {
    auto t = ParseDuration(a.timeout);
    if (!t.ok()) return UsageError("--timeout: " + t.status().message());
    add("timeout", a.timeout);
  }
  return q;
}

int Deploy(const DeployArgs& a) {
  if (Status st = CheckFunctionName(a.name); !st.ok()) return Report(st);
  auto query = Query(a);
  if (!query.ok()) return Report(query.status());
  auto module = ReadModule(a.file);
  if (!module.ok()) return Report(module.status());
  auto remote = Remote::Resolve(a.remote);
  if (!remote.ok()) return Report(remote.status());

  // The HttpClient sends the body in one go, so there is no byte count to report
  // while it runs: say what is happening, and clear the line when done.
  bool progress = module->size() > kProgressBytes && ::isatty(STDERR_FILENO);
  if (progress) {
    std::fprintf(stderr, "uploading %s to %s...", HumanBytes(module->size()).c_str(),
                 remote->control().c_str());
    std::fflush(stderr);
  }
  std::string raw;
  auto answer = UploadModule(*remote, a.name, *module, *query, &raw);
  if (progress) std::fputs("\r\033[K", stderr);
  if (!answer.ok()) return Report(answer.status());
  if (remote->json()) {
    PrintRaw(raw);
    return 0;
  }
  std::string version = "?", sha = "?";
  if (answer->is_object()) {
    version = Field(answer->as_object(), "version");
    sha = ShortHash(Field(answer->as_object(), "sha256"));
  }
  std::printf("deployed %s version %s (sha256 %s, %s)\n", a.name.c_str(), version.c_str(),
              sha.c_str(), HumanBytes(module->size()).c_str());
  return 0;
}

}  // namespace

void AddDeployCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<DeployArgs>();
  CLI::App* cmd = app.add_subcommand("deploy", "Upload a module as the next version of a function");
  cmd->add_option("name", args->name, "Function name ([a-z0-9][a-z0-9_-]{0,62})")->required();
  cmd->add_option("file", args->file, "The .wasm module")->required();
  cmd->add_option("--env", args->env, "Environment variable for the function (KEY=VALUE)")
      ->allow_extra_args(false);
  cmd->add_option("--memory-limit", args->memory_limit,
                  "Linear memory limit, e.g. 16MB (default: the node's)");
  cmd->add_option("--timeout", args->timeout,
                  "Execution time limit, e.g. 3s (default: the node's)");
  AddRemoteFlags(cmd, &args->remote);
  cmd->callback([args, exit_code] { *exit_code = Deploy(*args); });
}

}  // namespace aether::cli
