#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "wasm/internal/compiler.h"

extern char** environ;

namespace aether::wasm {
namespace {

// Flags: -fstack-clash-protection probes large frames so a deep or wide
// guest stack always hits the guard page; hidden visibility keeps a module's
// symbols to itself.
const std::vector<std::string> kFlags = {"-O2",
                                         "-shared",
                                         "-fPIC",
                                         "-fvisibility=hidden",
                                         "-fno-strict-aliasing",
                                         "-fstack-clash-protection",
                                         "-w"};

struct Spawned {
  int exit_status = -1;
  std::string output;
};

Result<Spawned> Run(const std::vector<std::string>& argv, const std::string& log_path) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    return Internal("cannot start C compiler \"" + argv[0] + "\": " + std::strerror(rc));
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return Internal("waitpid failed for the C compiler");
  }
  Spawned out;
  out.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::ifstream in(log_path);
  std::stringstream buf;
  buf << in.rdbuf();
  out.output = buf.str();
  if (out.output.size() > 2000) out.output.resize(2000);
  unlink(log_path.c_str());
  return out;
}

}  // namespace

std::string ResolveCommand(const std::string& command) {
  if (command.empty() || command.find('/') != std::string::npos) return command;
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t colon = dirs.find(':', start);
    std::string dir =
        dirs.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + command;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return command;
}

std::string CcFingerprint(const std::string& cc) {
  std::string version = "unknown";
  char dir[] = "/tmp/aether-cc-XXXXXX";
  if (mkdtemp(dir) != nullptr) {
    auto r = Run({cc, "-dumpfullversion", "-dumpversion"}, std::string(dir) + "/version.log");
    if (r.ok() && r->exit_status == 0) version = r->output;
    rmdir(dir);
  }
  while (!version.empty() && (version.back() == '\n' || version.back() == ' ')) version.pop_back();
  std::string fingerprint = cc + "-" + version;
  for (const auto& f : kFlags) fingerprint += " " + f;
  return fingerprint;
}

Status CompileWithCc(const std::string& cc, const std::string& c_unit,
                     const std::string& out_path) {
  const std::string src = "module.c";
  {
    std::ofstream out(src, std::ios::binary);
    out << c_unit;
    if (!out) return Internal("cannot write the C source for " + cc);
  }
  std::vector<std::string> argv = {cc};
  argv.insert(argv.end(), kFlags.begin(), kFlags.end());
  argv.insert(argv.end(), {"-o", out_path, src, "-lm"});
  auto r = Run(argv, "cc.log");
  unlink(src.c_str());
  if (!r.ok()) return r.status();
  if (r->exit_status != 0) {
    return Internal(cc + " failed (exit " + std::to_string(r->exit_status) + "): " + r->output);
  }
  return OkStatus();
}

}  // namespace aether::wasm
