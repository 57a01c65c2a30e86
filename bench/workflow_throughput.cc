// Event rates of the workflow layer, in-process (moved here from the engine's
// unit tests, which keep small functional versions: timing belongs to
// benchmarks, not to pass/fail tests on a shared machine):
//   * a local chain of three functions (wf_forward -> wf_forward -> wf_echo):
//     events/s with one producer, then latency at a steady 20k events/s;
//   * the HTTP dataplane between two nodes, into a counting host (no wasm);
//   * guest -> HTTP dataplane -> guest between two real hosts.
// Prints one line per figure, "name value unit", for bench/run.sh.
//
//   build/bin/aether-bench-workflow [EVENTS]   (default 200000)
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/http_server.h"
#include "workflow/dataplane.h"
#include "workflow/dataplane_testing.h"
#include "workflow/workflow_host.h"
#include "workflow/workflow_test_util.h"

namespace aether::workflow {
namespace {

using namespace testing;  // NOLINT: the engine tests' helpers
using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

void Print(const char* name, double value, const char* unit) {
  std::printf("%s %.1f %s\n", name, value, unit);
  std::fflush(stdout);
}

bool Fail(const std::string& what) {
  std::fprintf(stderr, "aether-bench-workflow: %s\n", what.c_str());
  return false;
}

std::unique_ptr<WorkflowHost> NewHost(WorkflowHostOptions o) {
  auto h = WorkflowHost::Create(std::move(o));
  if (!h.ok()) {
    Fail("cannot create a workflow host: " + h.status().message());
    return nullptr;
  }
  return std::move(*h);
}

// The optimized tier of `guests`, as a node serves after its warm-up.
bool Optimized(const std::vector<std::string>& guests) {
  for (const std::string& g : guests) {
    auto m = Guests::Get().Module(g);
    if (!m.ok()) return Fail(m.status().message());
    if (!Eventually(
            [&] { return Guests::Get().engine().Current(*m)->tier() == wasm::Tier::kOptimized; },
            std::chrono::seconds(120))) {
      return Fail("no optimized tier for " + g);
    }
  }
  return true;
}

bool LocalChain(int events) {
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
  std::unique_ptr<WorkflowHost> host = NewHost(std::move(o));
  if (!host || !Optimized({"wf_forward", "wf_echo"})) return false;
  auto a = Fn("a", "wf_forward"), b = Fn("b", "wf_forward"), c = Fn("c", "wf_echo");
  a.outputs["out"] = {Local(b.id)};
  b.outputs["out"] = {Local(c.id)};
  c.outputs["out"] = {Remote("wf-test/sink/0")};
  host->Apply({a, b, c});
  if (!Eventually([&] { return Running(*host, {a.id, b.id, c.id}); })) {
    return Fail("the chain did not start");
  }

  // One producer keeping up to 512 events in flight (more would overflow
  // the 1024-event mailboxes inside the chain, which drops).
  std::string payload(16, 'x');
  auto start = Clock::now();
  for (int i = 0; i < events; ++i) {
    while (i - static_cast<int>(remote.count()) >= 512) std::this_thread::yield();
    while (host->Cast(a.id, "bench", payload).code() == Code::kResourceExhausted) {
      std::this_thread::yield();
    }
  }
  if (!remote.WaitFor(events, std::chrono::seconds(120))) return Fail("events were lost");
  Print("workflow_local_chain_of_3", events / Seconds(Clock::now() - start), "events/s");

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
  if (!remote.WaitFor(before + kPaced, std::chrono::seconds(60))) {
    return Fail("paced events were lost");
  }
  measure = false;
  host->Stop();
  std::lock_guard lock(mu);
  if (latencies.empty()) return Fail("no latency sample");
  std::sort(latencies.begin(), latencies.end());
  auto pct = [&](double p) {
    return static_cast<double>(latencies[static_cast<size_t>(p * (latencies.size() - 1))]) / 1e3;
  };
  Print("workflow_local_chain_latency_p50_at_20k", pct(0.5), "us");
  Print("workflow_local_chain_latency_p99_at_20k", pct(0.99), "us");
  Print("workflow_local_chain_latency_max_at_20k", pct(1.0), "us");
  return true;
}

// A node's dataplane on its own HttpServer (127.0.0.1:0).
struct Endpoint {
  explicit Endpoint(const std::string& node_id, WorkflowHost* host)
      : identity(TestIdentity(node_id)),
        dataplane(DataplaneOptions{.identity = identity.get()}),
        server(HttpServerOptions{}) {
    if (host != nullptr) dataplane.Register(server, *host);
  }
  ~Endpoint() {
    dataplane.Stop();
    server.Stop();
  }
  std::unique_ptr<NodeIdentity> identity;
  Dataplane dataplane;
  HttpServer server;
};

bool DataplaneIntoACountingHost(int events) {
  FakeHost sink;
  sink.AddInstance("wf/sink/0");
  sink.KeepEvents(false);
  Endpoint a("n1", nullptr), b("n2", &sink);
  if (!b.server.Start().ok()) return Fail("cannot start a server");
  b.dataplane.SetPeers({GrantFor(*a.identity, "n2", {"wf/sink/0"})});
  const std::string payload(64, 'p');
  const OutputTarget t{"wf/sink/0", "n2", b.server.url()};
  auto start = Clock::now();
  int sent = 0;
  while (sent < events) {
    if (a.dataplane.Cast(t, "src", payload, workflow::kNoWait).ok()) {
      ++sent;
    } else {
      std::this_thread::yield();  // the link is full: back off, as a guest would on EFULL
    }
  }
  size_t got = sink.WaitCasts(events, std::chrono::seconds(120));
  double s = Seconds(Clock::now() - start);
  if (got != static_cast<size_t>(events)) return Fail("events were lost across HTTP");
  Print("dataplane_http_64B_events", got / s, "events/s");
  return true;
}

bool GuestToGuestAcrossHttp(int events) {
  FakeRemote unused;
  WorkflowHostOptions ob = TestOptions(&unused, nullptr);
  ob.node_id = "n2";
  std::unique_ptr<WorkflowHost> host_b = NewHost(std::move(ob));
  if (!host_b) return false;
  Endpoint b("n2", host_b.get());
  if (!b.server.Start().ok()) return Fail("cannot start a server");
  Endpoint a("n1", nullptr);
  WorkflowHostOptions oa = TestOptions(&a.dataplane, nullptr);
  oa.node_id = "n1";
  std::unique_ptr<WorkflowHost> host_a = NewHost(std::move(oa));
  if (!host_a || !Optimized({"wf_echo"})) return false;
  host_b->Apply({Fn("echo", "wf_echo")});
  b.dataplane.SetPeers({GrantFor(*a.identity, "n2", {Id("echo")})});
  InstanceAssignment fwd = Fn("fwd", "wf_echo");
  fwd.outputs["out"] = {OutputTarget{Id("echo"), "n2", b.server.url()}};
  host_a->Apply({fwd});
  if (!Eventually(
          [&] { return Running(*host_a, {Id("fwd")}) && Running(*host_b, {Id("echo")}); })) {
    return Fail("the instances did not start");
  }
  auto handled = [&] {
    auto s = StatusOf(*host_b, Id("echo"));
    return s ? s->events : 0;
  };
  const std::string payload(64, 'p');
  auto start = Clock::now();
  int sent = 0;
  while (sent < events) {
    if (host_a->Cast(Id("fwd"), "bench", payload).ok()) {
      ++sent;
    } else {
      std::this_thread::yield();  // the forwarder's mailbox is full
    }
  }
  // Every event is handled by echo or dropped at its full mailbox.
  Eventually(
      [&] {
        return handled() + static_cast<int64_t>(a.dataplane.counters().peer_dropped) >= events;
      },
      std::chrono::seconds(120));
  double s = Seconds(Clock::now() - start);
  int64_t got = handled();
  Print("dataplane_guest_to_guest_events", static_cast<double>(got) / s, "events/s");
  Print("dataplane_guest_to_guest_dropped", 100.0 * static_cast<double>(events - got) / events,
        "%");
  host_a->Stop();
  host_b->Stop();
  return true;
}

}  // namespace
}  // namespace aether::workflow

int main(int argc, char** argv) {
  int events = argc > 1 ? std::atoi(argv[1]) : 200000;
  if (events <= 0) {
    std::fprintf(stderr, "usage: aether-bench-workflow [EVENTS]\n");
    return 2;
  }
  using namespace aether::workflow;  // NOLINT
  bool ok = LocalChain(events);
  ok = DataplaneIntoACountingHost(events) && ok;
  ok = GuestToGuestAcrossHttp(events / 2) && ok;
  return ok ? 0 : 1;
}
