// An at-least-once workflow under steady load while the engine in the
// middle of it is killed (-9) and restarted, twice (once in the middle
// of working through the backlog the first outage left). The real
// aether-control, two aether-engines and a nats-server with JetStream,
// all on 127.0.0.1:
//
//   client -> http-ingress (cast) -> fb (forward) -> file-log
//             edge-a                  edge-b          edge-a
//
// Every cast goes through the workflow's stream on NATS. While edge-b is
// down the ingress keeps accepting (the log holds the events); the events
// fb had taken but not acknowledged when it died are delivered again after
// the ack wait (2 s here) to fb's next run.
//
// Invariants asserted at the end:
//   * every event the ingress answered 202 for reached the file-log;
//   * none reached it twice (fb handling an event again casts the same
//     derived id, which the log's dedup drops);
//   * nothing reached it that the ingress did not accept;
//   * /execute of a ready function on edge-a never failed.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <set>

#include "cluster.h"
#include "common/sha256.h"
#include "exposition.h"
#include "load.h"
#include "nats_server.h"
#include "workflows.h"

namespace aether::testing {
namespace {

const std::string kSpec = R"({"name": "durable", "delivery": "at-least-once",
  "functions": [
    {"name": "fb", "function": "forward", "output_mapping": {"out": "log"},
     "annotations": {"node_id_match_any": ["edge-b"]}}],
  "resources": [
    {"name": "in", "class_type": "http-ingress", "configurations": {"path": "in", "mode": "cast"},
     "output_mapping": {"new_request": "fb"}, "annotations": {"node_id_match_any": ["edge-a"]}},
    {"name": "log", "class_type": "file-log", "configurations": {"filename": "events.log"},
     "annotations": {"node_id_match_any": ["edge-a"]}}]})";

class EngineKillTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(NatsServerBinary().empty()) << "nats-server is not installed (make deps)";
    NatsServerOptions no;
    no.store_dir = nats_dir_.path();
    auto n = NatsServer::Start(std::move(no));
    ASSERT_TRUE(n.ok()) << n.status().message();
    nats_ = std::move(n).value();
    std::string nats = "[nats]\nurls = [\"" + nats_->url() + "\"]\nack_wait = \"2s\"\n";
    control_ = std::make_unique<Control>();
    a_ = std::make_unique<Engine>(*control_, "edge-a", "zone = \"a\"", nats);
    b_ = std::make_unique<Engine>(*control_, "edge-b", "zone = \"b\"", nats);
    ASSERT_EQ(control_->Deploy("forward", "wf_forward").status, 201);
    ASSERT_EQ(control_->Deploy("hello", "hello").status, 201);
    Workflows wf{*control_};
    ASSERT_EQ(wf.Apply(kSpec), "durable");
    ASSERT_TRUE(wf.WaitState("durable", "running"))
        << json::serialize(wf.Show("durable")) << Logs();
    ingress_ = wf.IngressUrl("durable");
    std::string hello = Sha256Hex(GuestBytes("hello"));
    ASSERT_TRUE(WaitFor([&] { return control_->Ready("hello", "edge-a", hello); }));
  }

  std::string Logs() const {
    return (a_ ? a_->Logs() : "") + (b_ ? b_->Logs() : "") + (nats_ ? nats_->Log() : "");
  }
  std::vector<int64_t> Logged() const {
    return LoggedEvents(a_->data_dir_root() + "/data/workflows/durable/events.log");
  }
  bool LoggedAfter(int64_t after) const { return AnyAfter(Logged(), after); }

  TempDir nats_dir_;
  std::unique_ptr<NatsServer> nats_;  // outlives the engines
  std::unique_ptr<Control> control_;
  std::unique_ptr<Engine> a_, b_;
  std::string ingress_;
};

TEST_F(EngineKillTest, AcceptedEventsSurviveTheEngineThatHadThem) {
  auto started = Clock::now();
  IngressLoad load(ingress_);
  ExecuteLoad execute({a_->process().url()}, "hello");
  ASSERT_TRUE(WaitFor([&] { return Logged().size() >= 200; })) << Logged().size() << " logged\n"
                                                               << Logs();
  // While edge-b is down the ingress keeps accepting: the log holds the
  // events. `backlog` more accepted, then edge-b starts again.
  auto outage = [&](size_t backlog) {
    b_->Kill9();
    size_t before = load.Accepted().size();
    bool grew = WaitFor([&] { return load.Accepted().size() >= before + backlog; });
    b_->Start();
    return ::testing::AssertionResult(grew)
           << "the ingress accepted " << load.Accepted().size() - before << " of " << backlog
           << " events while edge-b was down (refused " << load.refused() << ", other answers "
           << load.Other().size() << ", last sent ev-" << load.last()
           << "; first refusal: " << load.FirstRefusal() << ")\n"
           << Logs();
  };
  // The first kill finds fb keeping up; the second lands while it works
  // through the backlog of the first, with events fetched and not yet
  // acknowledged (they come back after the ack wait).
  ASSERT_TRUE(outage(1000));
  size_t logged_before = Logged().size();
  ASSERT_TRUE(WaitFor([&] { return Logged().size() > logged_before; }, seconds(30))) << Logs();
  ASSERT_TRUE(outage(500));
  int64_t resumed_at = load.last();
  ASSERT_TRUE(WaitFor([&] { return LoggedAfter(resumed_at); }, seconds(30)))
      << "nothing sent after edge-b came back was delivered\n"
      << Logs();
  load.Stop();
  execute.Stop();

  std::set<int64_t> accepted = load.Accepted();
  ASSERT_FALSE(accepted.empty());
  std::map<int64_t, int> other = load.Other();
  EXPECT_TRUE(other.empty()) << other.size() << " events had another answer, first: ev-"
                             << other.begin()->first << " " << other.begin()->second;
  auto missing = [&] {
    std::vector<int64_t> logged = Logged();
    std::set<int64_t> seen(logged.begin(), logged.end());
    size_t n = 0;
    for (int64_t e : accepted) n += seen.contains(e) ? 0 : 1;
    return n;
  };
  // Events fb had taken when it died come back after the ack wait (2 s).
  EXPECT_TRUE(WaitFor([&] { return missing() == 0; }, seconds(30)))
      << missing() << " of " << accepted.size() << " accepted events never reached the log\n"
      << Logs();
  std::vector<int64_t> logged = Logged();
  std::set<int64_t> unique(logged.begin(), logged.end());
  EXPECT_EQ(logged.size(), unique.size()) << logged.size() - unique.size() << " logged twice";
  for (int64_t n : unique) {
    EXPECT_TRUE(accepted.contains(n) || other.contains(n)) << "ev-" << n << " was never accepted";
  }
  std::vector<std::string> failures = execute.Failures();
  EXPECT_TRUE(failures.empty()) << failures.size()
                                << " /execute calls failed, first: " << failures.front();

  Result<HttpResponse> m = Http("GET", b_->process().url() + "/metrics");
  double duplicates =
      m.ok() ? ParseExposition(m->body).Value("aether_workflow_duplicates_total").value_or(-1) : -1;
  std::printf(
      "[ chaos ] at-least-once: accepted %zu, refused %lld, logged %zu (unique %zu), edge-b "
      "killed twice; duplicates skipped by the restarted fb %.0f; /execute ok %lld; %.1f s\n",
      accepted.size(), static_cast<long long>(load.refused()), logged.size(), unique.size(),
      duplicates, static_cast<long long>(execute.ok()),
      std::chrono::duration<double>(Clock::now() - started).count());
}

}  // namespace
}  // namespace aether::testing
