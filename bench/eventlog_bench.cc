// The cost of at-least-once delivery on the JetStream event log
// (workflow/jetstream_log.h), on one nats-server: Append latency (a
// publish and its PubAck, one at a time, as an aether_cast waits for it)
// and rate for one publisher; the same with THREADS publishers appending
// at once (as pool workers and guests casting do); Fetch + Ack rate for one
// subscription at a few batch sizes.
//
//   aether-bench-eventlog [EVENTS] [PAYLOAD_BYTES] [NATS_URL] [THREADS]
//
// Without NATS_URL it starts its own nats-server -js on 127.0.0.1 in a
// temp dir (tests/support/nats_server.h) and stops it at the end.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "nats_server.h"
#include "workflow/jetstream_log.h"

namespace {

using namespace aether;
using namespace aether::workflow;
using Clock = std::chrono::steady_clock;
using std::chrono::duration;

double Micros(Clock::duration d) { return duration<double, std::micro>(d).count(); }
double Seconds(Clock::duration d) { return duration<double>(d).count(); }

int Fail(const std::string& what, const Status& s) {
  std::fprintf(stderr, "eventlog_bench: %s: %s\n", what.c_str(), s.ToString().c_str());
  return 1;
}

// Appends `n` events from `threads` publishers at once, each appending
// one at a time (an Append returns once the event is stored); prints
// latency percentiles and the total rate.
Status AppendConcurrent(EventLog& log, const std::string& workflow, size_t n, size_t threads,
                        const std::string& payload) {
  std::vector<std::vector<double>> per(threads);
  std::vector<Status> errors(threads, OkStatus());
  auto start = Clock::now();
  std::vector<std::thread> pool;
  pool.reserve(threads);
  for (size_t t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      per[t].reserve(n / threads + 1);
      for (size_t i = t; i < n; i += threads) {
        auto t0 = Clock::now();
        Status s = log.Append(workflow, "sink", LogEvent{"e" + std::to_string(i), "src", payload},
                              t0 + std::chrono::seconds(10));
        if (!s.ok()) {
          errors[t] = s;
          return;
        }
        per[t].push_back(Micros(Clock::now() - t0));
      }
    });
  }
  for (std::thread& th : pool) th.join();
  double total = Seconds(Clock::now() - start);
  for (const Status& s : errors) RETURN_IF_ERROR(s);
  std::vector<double> us;
  us.reserve(n);
  for (const auto& v : per) us.insert(us.end(), v.begin(), v.end());
  std::sort(us.begin(), us.end());
  auto pct = [&](double p) {
    return us[std::min(us.size() - 1, static_cast<size_t>(p * us.size()))];
  };
  std::printf(
      "append (%zu publisher%s): %zu events in %.2f s = %.0f events/s; "
      "latency p50 %.0f us, p90 %.0f us, p99 %.0f us, max %.0f us\n",
      threads, threads == 1 ? "" : "s", n, total, n / total, pct(0.50), pct(0.90), pct(0.99),
      us.back());
  return OkStatus();
}

// Fetches and acknowledges `n` events in batches of `batch`.
Status FetchAck(EventLog& log, const std::string& workflow, size_t n, size_t batch) {
  ASSIGN_OR_RETURN(std::unique_ptr<LogSubscription> sub, log.Subscribe(workflow, "sink"));
  size_t got = 0;
  auto start = Clock::now();
  while (got < n) {
    ASSIGN_OR_RETURN(auto ds, sub->Fetch(batch, std::chrono::seconds(2)));
    if (ds.empty()) return Internal("only " + std::to_string(got) + " events came back");
    for (auto& d : ds) RETURN_IF_ERROR(d->Ack());
    got += ds.size();
  }
  double total = Seconds(Clock::now() - start);
  std::printf("fetch+ack (1 subscription, batch %zu): %zu events in %.2f s = %.0f events/s\n",
              batch, got, total, got / total);
  sub->Close();
  return OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  size_t events = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 20000;
  size_t bytes = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 64;
  std::string url = argc > 3 ? argv[3] : "";
  size_t threads = argc > 4 ? std::strtoull(argv[4], nullptr, 10) : 16;
  if (events == 0) return Fail("usage", InvalidArgument("EVENTS must be at least 1"));
  if (threads == 0) return Fail("usage", InvalidArgument("THREADS must be at least 1"));
  if (url == "-") url.clear();  // "-": start a server, as without NATS_URL

  aether::testing::TempDir store;
  std::unique_ptr<aether::testing::NatsServer> server;
  if (url.empty()) {
    aether::testing::NatsServerOptions o;
    o.store_dir = store.path();
    auto s = aether::testing::NatsServer::Start(o);
    if (!s.ok()) return Fail("cannot start nats-server", s.status());
    server = std::move(*s);
    url = server->url();
  }
  JetStreamOptions options;
  options.urls = {url};
  auto log = ConnectJetStream(options);
  if (!log.ok()) return Fail("cannot connect", log.status());
  std::printf("nats: %s, %zu events of %zu bytes\n", url.c_str(), events, bytes);

  std::string payload(bytes, 'x');
  for (size_t batch : {1, 64, 256}) {
    std::string workflow = "bench" + std::to_string(batch);
    (void)(*log)->DropWorkflow(workflow);
    if (Status s = (*log)->EnsureWorkflow(workflow); !s.ok()) return Fail("EnsureWorkflow", s);
    // One publisher on the first round, `threads` on the others (the
    // fetch figures do not depend on how the events were appended).
    size_t publishers = batch == 1 ? 1 : threads;
    if (Status s = AppendConcurrent(**log, workflow, events, publishers, payload); !s.ok()) {
      return Fail("append", s);
    }
    if (Status s = FetchAck(**log, workflow, events, batch); !s.ok()) return Fail("fetch", s);
    (void)(*log)->DropWorkflow(workflow);
  }
  return 0;
}
