// Throughput and latency through a local 3-function chain, printed (not
// asserted: timing belongs to benchmarks, this is a quick measurement).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <thread>

#include "engine/workflow/workflow_host.h"
#include "engine/workflow/workflow_test_util.h"

namespace aether::engine::workflow {
namespace {

using namespace testing;  // NOLINT
using Clock = std::chrono::steady_clock;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

TEST(WorkflowThroughputTest, LocalChainOfThree) {
  FakeRemote remote;
  remote.set_keep(false);
  std::mutex mu;
  std::vector<int64_t> latencies;
  std::atomic<bool> measure{false};
  remote.on_cast = [&](std::string_view payload) {
    if (!measure.load(std::memory_order_relaxed) || payload.size() < 8) return;
    int64_t sent;
    std::memcpy(&sent, payload.data(), 8);
    std::lock_guard lock(mu);
    latencies.push_back(NowNs() - sent);
  };
  WorkflowHostOptions o = TestOptions(&remote, nullptr);
  o.threads = 2;
  auto h = WorkflowHost::Create(std::move(o));
  ASSERT_TRUE(h.ok());
  std::unique_ptr<WorkflowHost> host = std::move(*h);
  // The optimized tier of the guests before measuring.
  for (const char* g : {"wf_forward", "wf_echo"}) {
    auto m = Guests::Get().Module(g);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    ASSERT_TRUE(Eventually(
        [&] { return Guests::Get().engine().Current(*m)->tier() == wasm::Tier::kOptimized; },
        std::chrono::seconds(60)));
  }
  auto a = Fn("a", "wf_forward"), b = Fn("b", "wf_forward"), c = Fn("c", "wf_echo");
  a.outputs["out"] = {Local(b.id)};
  b.outputs["out"] = {Local(c.id)};
  c.outputs["out"] = {Remote("wf-test/sink/0")};
  host->Apply({a, b, c});
  ASSERT_TRUE(Eventually([&] { return Running(*host, {a.id, b.id, c.id}); }));

  // Throughput: one producer keeping up to 512 events in flight (more would
  // overflow the 1024-event mailboxes inside the chain, which drops).
  constexpr int kEvents = 200000;
  std::string payload(16, 'x');
  auto start = Clock::now();
  for (int i = 0; i < kEvents; ++i) {
    while (i - static_cast<int>(remote.count()) >= 512) std::this_thread::yield();
    while (host->Cast(a.id, "bench", payload).code() == Code::kResourceExhausted) {
      std::this_thread::yield();
    }
  }
  ASSERT_TRUE(remote.WaitFor(kEvents, std::chrono::seconds(60)));
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("[ bench    ] local 3-function chain: %d events in %.3f s = %.0f events/s\n",
              kEvents, secs, kEvents / secs);

  // Latency at a steady 20k events/s (one event every 50 us) for 0.5 s.
  measure = true;
  size_t before = remote.count();
  constexpr int kPaced = 10000;
  auto next = Clock::now();
  for (int i = 0; i < kPaced; ++i) {
    std::this_thread::sleep_until(next);  // not spinning: the node has few cores
    next += std::chrono::microseconds(50);
    int64_t now = NowNs();
    std::memcpy(payload.data(), &now, 8);
    (void)host->Cast(a.id, "bench", payload);
  }
  ASSERT_TRUE(remote.WaitFor(before + kPaced, std::chrono::seconds(30)));
  measure = false;
  std::lock_guard lock(mu);
  std::sort(latencies.begin(), latencies.end());
  auto pct = [&](double p) { return latencies[static_cast<size_t>(p * (latencies.size() - 1))] / 1e3; };
  std::printf("[ bench    ] latency through the chain at 20k events/s: p50 %.1f us, p99 %.1f us, "
              "max %.1f us (%zu events)\n",
              pct(0.5), pct(0.99), pct(1.0), latencies.size());
  host->Stop();
}

}  // namespace
}  // namespace aether::engine::workflow
