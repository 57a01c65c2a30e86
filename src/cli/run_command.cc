// `aether run`: run a WASI command module locally, like `wasmtime run`.
// Exit codes: the guest's exit code; 134 on a trap; 124 on a timeout; 1 when
// the module cannot be loaded or instantiated (with --optimize: also when cc
// fails); 2 on bad usage.
#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "common/limits.h"
#include "common/units.h"
#include "wasm/engine.h"
#include "wasm/guest_thread.h"

namespace aether::cli {
namespace {

struct RunArgs {
  std::vector<std::string> env;
  std::vector<std::string> dirs;
  std::string timeout = FormatDuration(kDefaultExecTimeout);   // "3s"
  std::string memory_limit = FormatSize(kDefaultMemoryLimit);  // "16MB"
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

// Found before the module ran: a bad flag value or a file that cannot be
// read (docs/cli.md, "Exit codes and errors").
int Usage(const std::string& message) {
  std::fprintf(stderr, "aether: %s\n", message.c_str());
  return 2;
}

// The engine compiles the optimized tier in the background and reports the
// outcome through EngineOptions::on_compiled, success or failure. --optimize
// waits for that report: waiting for the tier itself to appear would wait
// forever when cc fails.
class OptimizedTierReports {
 public:
  // For EngineOptions::on_compiled (any thread).
  void Report(const std::string& sha256, wasm::Tier tier, const std::string& error) {
    if (tier != wasm::Tier::kOptimized) return;
    {
      std::lock_guard lock(mu_);
      errors_[sha256] = error;
    }
    cv_.notify_all();
  }
  // Blocks until `sha256`'s optimized tier is reported; "" on success, else
  // the first line of the compiler's error.
  std::string Wait(const std::string& sha256) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return errors_.contains(sha256); });
    const std::string& e = errors_[sha256];
    return e.substr(0, std::min(e.find('\n'), size_t{300}));
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::string> errors_;
};

int Run(const RunArgs& a) {
  wasm::RunOptions opts;
  auto timeout = ParseDuration(a.timeout);
  if (!timeout.ok()) return Usage("--timeout: " + timeout.status().message());
  auto memory = ParseSize(a.memory_limit);
  if (!memory.ok()) return Usage("--memory-limit: " + memory.status().message());
  if (*memory > (4ull << 30)) return Usage("--memory-limit: at most 4GB (wasm32)");
  opts.limits.timeout = *timeout;
  opts.limits.memory_bytes = *memory;
  for (const std::string& e : a.env) {
    if (e.find('=') == std::string::npos || e.front() == '=') {
      return Usage("--env expects KEY=VALUE, got \"" + e + "\"");
    }
    opts.env.push_back(e);
  }
  for (const std::string& d : a.dirs) {
    size_t sep = d.find("::");
    wasm::Preopen p;
    p.host_path = sep == std::string::npos ? d : d.substr(0, sep);
    p.guest_path = sep == std::string::npos ? d : d.substr(sep + 2);
    if (p.host_path.empty() || p.guest_path.empty()) return Usage("--dir expects HOST[::GUEST]");
    opts.preopens.push_back(p);
  }
  opts.args.push_back(a.module);
  opts.args.insert(opts.args.end(), a.guest_args.begin(), a.guest_args.end());
  opts.inherit_stdio = true;

  std::ifstream in(a.module, std::ios::binary);
  if (!in) return Usage("cannot read " + a.module);
  std::vector<uint8_t> wasm((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());

  wasm::EngineOptions eo;
  eo.cache_dir = a.cache_dir.empty() ? DefaultCacheDir() : a.cache_dir;
  eo.cache_size = 4;
  eo.optimize = a.optimize;
  OptimizedTierReports reports;
  eo.on_compiled = [&reports](const std::string& sha256, wasm::Tier tier, double,
                              const std::string& error) { reports.Report(sha256, tier, error); };
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
    if (a.optimize && m->tier() != wasm::Tier::kOptimized) {
      // The user asked for the optimized tier: running the fast one instead
      // would mislead whoever measures, so a failed cc is an error.
      std::string error = reports.Wait(m->sha256());
      if (!error.empty()) {
        exit_code = Fail(a.module + ": --optimize: " + error +
                         " (run without --optimize to use the fast tier)");
        return;
      }
      m = engine->Current(m);
      if (m->tier() != wasm::Tier::kOptimized) {
        exit_code = Fail(a.module + ": --optimize: the optimized tier was compiled but is not " +
                         "loaded (run without --optimize to use the fast tier)");
        return;
      }
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
  run->footer(
      "Exit codes: the guest's own exit code; 124 when it timed out; 134 when it trapped;\n"
      "1 when the module cannot be loaded or instantiated (with --optimize: also when cc\n"
      "fails); 2 on bad usage (a bad flag value, a file that cannot be read).");
  run->add_option("--env", args.env, "Environment variable for the guest (KEY=VALUE)")
      ->allow_extra_args(false);
  run->add_option("--dir", args.dirs, "Preopen a host directory (HOST or HOST::GUEST)")
      ->allow_extra_args(false);
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
