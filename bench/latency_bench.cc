// First-request latencies of the sandbox, in-process:
//  * a module never seen before: validate + wasm2c + tcc + load + run;
//  * the same module after a restart: a new Engine on the same disk cache;
//  * how long until the optimized tier (cc -O2) takes over.
// Prints one line per figure, "name value unit", for bench/run.sh.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "wasm/engine.h"
#include "wasm/guest_thread.h"

namespace {

using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

std::vector<uint8_t> Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::unique_ptr<aether::wasm::Engine> NewEngine(const std::string& dir, bool optimize) {
  aether::wasm::EngineOptions o;
  o.cache_dir = dir;
  o.optimize = optimize;
  return aether::wasm::NewAotEngine(o);
}

// Load + one run; returns milliseconds, or -1 on failure.
double FirstRequest(aether::wasm::Engine& e, const std::vector<uint8_t>& wasm,
                    const std::string& input) {
  auto t0 = Clock::now();
  auto m = e.Load(wasm);
  if (!m.ok()) {
    std::fprintf(stderr, "load failed: %s\n", m.status().ToString().c_str());
    return -1;
  }
  aether::wasm::RunOptions o;
  o.stdin_data = input;
  auto r = e.Run(**m, o);
  if (!r.ok() || r->exit_code != 0) return -1;
  return Ms(Clock::now() - t0);
}

void Measure(const std::string& label, const std::string& path, const std::string& input) {
  std::vector<uint8_t> wasm = Read(path);
  if (wasm.empty()) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    return;
  }
  std::string dir = (std::filesystem::temp_directory_path() /
                     ("aether-latency-" + std::to_string(::getpid()) + "-" + label))
                        .string();
  std::filesystem::remove_all(dir);
  {
    auto e = NewEngine(dir, /*optimize=*/true);
    // A module arrives at an engine that has been up a while: its spare
    // compiler process has started (wasm/internal/sandbox.h, SpareWorker).
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    double cold = FirstRequest(*e, wasm, input);
    std::printf("first_request_new_module_%s %.2f ms (%zu KB wasm, fast tier)\n", label.c_str(),
                cold, wasm.size() / 1024);
    auto t0 = Clock::now();
    auto m = e->Load(wasm);
    while (m.ok() && e->Current(*m)->tier() != aether::wasm::Tier::kOptimized &&
           Clock::now() - t0 < std::chrono::minutes(5)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::printf("optimized_tier_ready_%s %.0f ms (after the first request)\n", label.c_str(),
                Ms(Clock::now() - t0) + 0.0);
  }
  {
    auto e = NewEngine(dir, /*optimize=*/false);
    double warm = FirstRequest(*e, wasm, input);
    std::printf("first_request_after_restart_%s %.2f ms (disk cache, optimized tier)\n",
                label.c_str(), warm);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace

int main(int argc, char** argv) {
  // STAGES=1: the engine's DEBUG lines, with each compile's stages
  // (docs/benchmarks.md, "Where the time goes").
  if (const char* s = std::getenv("STAGES"); s != nullptr && *s == '1') {
    spdlog::set_level(spdlog::level::debug);
  }
  std::string guests = argc > 1 ? argv[1] : AETHER_GUEST_DIR;
  aether::wasm::GuestThread t([&] {
    Measure("hello", guests + "/hello.wasm", "");
    Measure("sha", guests + "/sha.wasm", "abc");
    if (argc > 2) Measure("large", argv[2], "");
  });
  t.Join();
  return 0;
}
