// In-process costs of the sandbox: instantiate + run + tear down a cached
// module, and CPU-bound guests against the same code compiled natively.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "wasm/engine.h"
#include "wasm/guest_thread.h"

namespace {

using aether::wasm::Engine;
using aether::wasm::Module;

std::vector<uint8_t> ReadGuest(const std::string& name) {
  std::ifstream in(std::string(AETHER_GUEST_DIR) + "/" + name + ".wasm", std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

Engine& TheEngine() {
  static std::unique_ptr<Engine> engine = [] {
    aether::wasm::EngineOptions o;
    o.cache_dir = "/tmp/aether-bench-cache";
    o.optimize = true;
    return aether::wasm::NewAotEngine(o);
  }();
  return *engine;
}

// The optimized tier of a guest (waits for the background compile).
std::shared_ptr<const Module> Optimized(const std::string& name) {
  auto m = TheEngine().Load(ReadGuest(name));
  if (!m.ok()) {
    std::fprintf(stderr, "load %s: %s\n", name.c_str(), m.status().ToString().c_str());
    std::abort();
  }
  std::shared_ptr<const Module> cur = *m;
  while (TheEngine().Current(cur)->tier() != aether::wasm::Tier::kOptimized) {
    struct timespec ts {
      0, 10'000'000
    };
    nanosleep(&ts, nullptr);
  }
  return TheEngine().Current(cur);
}

void RunOn(const Module& m, const aether::wasm::RunOptions& o, benchmark::State& state) {
  for (auto _ : state) {
    auto r = TheEngine().Run(m, o);
    if (!r.ok() || r->exit_code != 0 || r->trap != aether::wasm::TrapKind::kNone) {
      state.SkipWithError("guest failed");
      break;
    }
    benchmark::DoNotOptimize(r->stdout_data.data());
  }
}

void BM_HelloInstantiateRunTeardown(benchmark::State& state) {
  static auto m = Optimized("hello");
  aether::wasm::RunOptions o;
  o.args = {"hello"};
  RunOn(*m, o, state);
}

void BM_Fib(benchmark::State& state) {
  static auto m = Optimized("fib");
  std::string input = std::to_string(state.range(0));
  aether::wasm::RunOptions o;
  o.args = {"fib"};
  o.stdin_data = input;
  o.limits.timeout = std::chrono::seconds(60);
  RunOn(*m, o, state);
}

void BM_Sha(benchmark::State& state) {
  static auto m = Optimized("sha");
  std::string input(static_cast<size_t>(state.range(0)), 'a');
  aether::wasm::RunOptions o;
  o.args = {"sha"};
  o.stdin_data = input;
  o.limits.timeout = std::chrono::seconds(60);
  RunOn(*m, o, state);
}

// One call into a long-lived instance (the workflow ABI's per-event cost
// without the payload copies): enter the guard, arm the watchdog, run a
// two-argument export, classify the outcome.
void BM_InstanceCall(benchmark::State& state) {
  static auto m = Optimized("instance_counter");
  auto inst = TheEngine().Instantiate(*m, {});
  if (!inst.ok()) {
    state.SkipWithError(inst.status().ToString().c_str());
    return;
  }
  const uint64_t args[2] = {40, 2};
  for (auto _ : state) {
    auto r = (*inst)->Call("add", "i:ii", args);
    if (!r.ok() || r->trap != aether::wasm::TrapKind::kNone || r->value != 42) {
      state.SkipWithError("call failed");
      break;
    }
  }
}

}  // namespace

BENCHMARK(BM_HelloInstantiateRunTeardown)->UseRealTime();
BENCHMARK(BM_InstanceCall)->UseRealTime();
BENCHMARK(BM_Fib)->Arg(30)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Sha)->Arg(4096)->Unit(benchmark::kMillisecond)->UseRealTime();

// Guests must run on a GuestThread (its stack guard turns runaway recursion
// into a trap), so the whole benchmark run happens on one.
int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  aether::wasm::GuestThread t([] { benchmark::RunSpecifiedBenchmarks(); });
  t.Join();
  benchmark::Shutdown();
  return 0;
}
