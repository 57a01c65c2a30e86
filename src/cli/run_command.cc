// `aether run`: run a WASI command module locally, like `wasmtime run`.
// Exit codes: the guest's exit code; 134 on a trap; 124 on a timeout; 1 when
// the module cannot be loaded or instantiated; 2 on bad usage.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "common/units.h"
#include "wasm/engine.h"
#include "wasm/guest_thread.h"

namespace aether::cli {
namespace {

struct RunArgs {
  std::vector<std::string> env;
  std::vector<std::string> dirs;
  std::string timeout = "3s";
  std::string memory_limit = "16MB";
  std::string module;
  std::vector<std::string> guest_args;
  std::string cache_dir;
  bool optimize = false;
};

std::string DefaultCacheDir() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x != nullptr && *x) {
    return std::string(x) + "/aether";
  }
  if (const char* h = std::getenv("HOME"); h != nullptr && *h) {
    return std::string(h) + "/.cache/aether";
  }
  return "/tmp/aether-cache";
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "aether: %s\n", message.c_str());
  return 1;
}

int Run(const RunArgs& a) {
  wasm::RunOptions opts;
  auto timeout = ParseDuration(a.timeout);
  if (!timeout.ok()) return Fail("--timeout: " + timeout.status().message());
  auto memory = ParseSize(a.memory_limit);
  if (!memory.ok()) return Fail("--memory-limit: " + memory.status().message());
  if (*memory > (4ull << 30)) return Fail("--memory-limit: at most 4GB (wasm32)");
  opts.limits.timeout = *timeout;
  opts.limits.memory_bytes = *memory;
  for (const std::string& e : a.env) {
    if (e.find('=') == std::string::npos || e.front() == '=') {
      return Fail("--env expects KEY=VALUE, got \"" + e + "\"");
    }
    opts.env.push_back(e);
  }
  for (const std::string& d : a.dirs) {
    size_t sep = d.find("::");
    wasm::Preopen p;
    p.host_path = sep == std::string::npos ? d : d.substr(0, sep);
    p.guest_path = sep == std::string::npos ? d : d.substr(sep + 2);
    if (p.host_path.empty() || p.guest_path.empty()) return Fail("--dir expects HOST[::GUEST]");
    opts.preopens.push_back(p);
  }
  opts.args.push_back(a.module);
  opts.args.insert(opts.args.end(), a.guest_args.begin(), a.guest_args.end());
  opts.inherit_stdio = true;

  std::ifstream in(a.module, std::ios::binary);
  if (!in) return Fail("cannot read " + a.module);
  std::vector<uint8_t> wasm((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());

  wasm::EngineOptions eo;
  eo.cache_dir = a.cache_dir.empty() ? DefaultCacheDir() : a.cache_dir;
  eo.cache_size = 4;
  eo.optimize = a.optimize;
  std::unique_ptr<wasm::Engine> engine = wasm::NewAotEngine(eo);

  int exit_code = 0;
  // Guests run on a GuestThread: its stack layout is what turns runaway
  // recursion into a trap.
  wasm::GuestThread thread([&] {
    auto module = engine->Load(wasm);
    if (!module.ok()) {
      exit_code = Fail(a.module + ": " + module.status().message());
      return;
    }
    std::shared_ptr<const wasm::Module> m = *module;
    if (a.optimize) {
      // Wait for the optimized tier (it is compiled in the background).
      while (engine->Current(m)->tier() != wasm::Tier::kOptimized) {
        struct timespec ts{0, 5'000'000};
        nanosleep(&ts, nullptr);
      }
      m = engine->Current(m);
    }
    auto result = engine->Run(*m, opts);
    if (!result.ok()) {
      exit_code = Fail(a.module + ": " + result.status().message());
      return;
    }
    std::fflush(stdout);
    if (result->trap == wasm::TrapKind::kTimeout) {
      std::fprintf(stderr, "aether: %s: timed out after %s\n", a.module.c_str(),
                   FormatDuration(opts.limits.timeout).c_str());
      exit_code = 124;
    } else if (result->trap != wasm::TrapKind::kNone) {
      std::fprintf(stderr, "aether: %s: trap: %s (%s)\n", a.module.c_str(),
                   std::string(wasm::TrapMessage(result->trap)).c_str(),
                   std::string(wasm::TrapName(result->trap)).c_str());
      exit_code = 134;
    } else {
      exit_code = result->exit_code;
    }
  });
  thread.Join();
  return exit_code;
}

}  // namespace

void AddRunCommand(CLI::App& app, int* exit_code) {
  static RunArgs args;
  CLI::App* run = app.add_subcommand("run", "Run a WASI command module locally");
  run->add_option("--env", args.env, "Environment variable for the guest (KEY=VALUE)")->allow_extra_args(false);
  run->add_option("--dir", args.dirs, "Preopen a host directory (HOST or HOST::GUEST)")->allow_extra_args(false);
  run->add_option("--timeout", args.timeout, "Wall-clock limit, e.g. 3s, 250ms")
      ->capture_default_str();
  run->add_option("--memory-limit", args.memory_limit, "Linear memory limit, e.g. 16MB")
      ->capture_default_str();
  run->add_option("--cache-dir", args.cache_dir, "Compiled-module cache (default ~/.cache/aether)");
  run->add_flag("--optimize", args.optimize,
                "Compile with the optimizing tier (cc -O2) before running");
  run->add_option("module", args.module, "The .wasm module")->required();
  run->add_option("args", args.guest_args, "Arguments for the guest (after --)");
  run->callback([exit_code] { *exit_code = Run(args); });
}

}  // namespace aether::cli
