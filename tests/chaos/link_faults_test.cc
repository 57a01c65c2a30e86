// Workflows across two engines under steady load while the dataplane link
// between them stalls and drops. The real aether-control and two
// aether-engine binaries; edge-b's [server] public_url is a TcpProxy in
// front of it, so edge-a reaches edge-b's dataplane only through the proxy
// (edge-b reaches edge-a directly). The main workflow:
//
//   client -> http-ingress (cast) -> fa (forward) --proxy--> fb (forward) -> file-log
//             edge-a                  edge-a                   edge-b          edge-a
//
// Short queues on edge-a (link 500 events, mailboxes 200) so that a fault
// fills them within a second or two: fa then waits for room on the link
// (backpressure) and drops after [workflow] send_wait, its mailbox fills and
// the ingress refuses (503).
//
// What is asserted are invariants at the end, not timings (each fault lasts
// 1.5-3 s, below the dataplane's request_timeout and retry_for, so the
// link's own retries must bridge it):
//   * nothing vanishes silently: every event the ingress answered 202 for
//     reached the file-log or is counted as dropped by an engine
//     (aether_dataplane_dropped_total), and no drop is counted that did not
//     happen: accepted - delivered == dropped;
//   * nothing reached the log that the ingress did not accept;
//   * /execute of a ready function never failed on either engine;
//   * after each fault, events sent once the link is back are delivered.
//   * no event reached the log twice: a batch whose answer a fault cut off
//     is sent again under its id, and the receiving engine answers it
//     without delivering it again (docs/workflow-protocol.md).
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <set>

#include "cluster.h"
#include "common/sha256.h"
#include "exposition.h"
#include "load.h"
#include "tcp_proxy.h"
#include "workflows.h"

namespace aether::testing {
namespace {

// ingress -> fa (edge-a) -> fb (edge-b) -> log (edge-a)
const std::string kChain = R"({"name": "chaos",
  "functions": [
    {"name": "fa", "function": "forward", "output_mapping": {"out": "fb"},
     "annotations": {"node_id_match_any": ["edge-a"]}},
    {"name": "fb", "function": "forward", "output_mapping": {"out": "log"},
     "annotations": {"node_id_match_any": ["edge-b"]}}],
  "resources": [
    {"name": "in", "class_type": "http-ingress", "configurations": {"path": "in", "mode": "cast"},
     "output_mapping": {"new_request": "fa"}, "annotations": {"node_id_match_any": ["edge-a"]}},
    {"name": "log", "class_type": "file-log", "configurations": {"filename": "events.log"},
     "annotations": {"node_id_match_any": ["edge-a"]}}]})";

// ingress (edge-a) -> fb (edge-b) -> log (edge-a): the ingress casts
// straight onto the link.
const std::string kDirect = R"({"name": "chaos",
  "functions": [
    {"name": "fb", "function": "forward", "output_mapping": {"out": "log"},
     "annotations": {"node_id_match_any": ["edge-b"]}}],
  "resources": [
    {"name": "in", "class_type": "http-ingress", "configurations": {"path": "in", "mode": "cast"},
     "output_mapping": {"new_request": "fb"}, "annotations": {"node_id_match_any": ["edge-a"]}},
    {"name": "log", "class_type": "file-log", "configurations": {"filename": "events.log"},
     "annotations": {"node_id_match_any": ["edge-a"]}}]})";

class LinkFaultsTest : public ::testing::Test {
 protected:
  // Control, edge-a (with `a_workflow`: [workflow] keys) and edge-b behind
  // the proxy; "forward" and "hello" deployed and ready; `spec` running.
  void Start(const std::string& a_workflow, const std::string& spec) {
    auto p = TcpProxy::Start();
    ASSERT_TRUE(p.ok()) << p.status().message();
    proxy_ = std::move(p).value();
    control_ = std::make_unique<Control>();
    a_ = std::make_unique<Engine>(*control_, "edge-a", "zone = \"a\"", "[workflow]\n" + a_workflow);
    b_ = std::make_unique<Engine>(*control_, "edge-b", "zone = \"b\"",
                                  "[server]\npublic_url = \"" + proxy_->url() + "\"\n");
    ASSERT_TRUE(proxy_->SetTarget(b_->process().port()).ok());
    ASSERT_EQ(control_->Deploy("forward", "wf_forward").status, 201);
    ASSERT_EQ(control_->Deploy("hello", "hello").status, 201);
    Workflows wf{*control_};
    ASSERT_EQ(wf.Apply(spec), "chaos");
    ASSERT_TRUE(wf.WaitState("chaos", "running")) << json::serialize(wf.Show("chaos")) << Logs();
    ASSERT_EQ(wf.Placement("chaos")["chaos/fb/0"], "edge-b");
    ingress_ = wf.IngressUrl("chaos");
    std::string hello = Sha256Hex(GuestBytes("hello"));
    ASSERT_TRUE(WaitFor([&] {
      return control_->Ready("hello", "edge-a", hello) && control_->Ready("hello", "edge-b", hello);
    }));
  }

  std::string Logs() const { return (a_ ? a_->Logs() : "") + (b_ ? b_->Logs() : ""); }

  // The event numbers in the file-log on edge-a, in order (rotated part first).
  std::vector<int64_t> Logged() const {
    return LoggedEvents(a_->data_dir_root() + "/data/workflows/chaos/events.log");
  }
  // The accepted events that reached the log.
  std::set<int64_t> Delivered(const std::set<int64_t>& accepted) const {
    std::set<int64_t> out;
    for (int64_t n : Logged()) {
      if (accepted.contains(n)) out.insert(n);
    }
    return out;
  }
  // True once an event sent after event `after` has been logged.
  bool DeliveredAfter(int64_t after) const { return AnyAfter(Logged(), after); }

  // A sample of an engine's /metrics (-1 when unreadable or absent).
  static double Metric(Engine& e, const std::string& name) {
    Result<HttpResponse> r = Http("GET", e.process().url() + "/metrics");
    if (!r.ok() || r->status != 200) return -1;
    return ParseExposition(r->body).Value(name).value_or(-1);
  }
  // Events both engines count as dropped.
  double Dropped() { return Metric(*a_, kDropped) + Metric(*b_, kDropped); }

  static constexpr const char* kDropped = "aether_dataplane_dropped_total";
  std::unique_ptr<TcpProxy> proxy_;  // outlives the engines that connect through it
  std::unique_ptr<Control> control_;
  std::unique_ptr<Engine> a_, b_;
  std::string ingress_;
};

TEST_F(LinkFaultsTest, StalledAndDroppedLinkLosesNothingSilently) {
  auto started = Clock::now();
  Start("dataplane_queue_length = 500\nmailbox_length = 200\n", kChain);
  ASSERT_FALSE(HasFatalFailure());
  IngressLoad load(ingress_);
  ExecuteLoad execute({a_->process().url(), b_->process().url()}, "hello");
  ASSERT_TRUE(WaitFor([&] { return Logged().size() >= 200; })) << Logged().size() << " logged\n"
                                                               << Logs();
  ASSERT_GT(proxy_->counts().to_target, 0u) << "events cross the proxy";

  // A fault held until the ingress refuses (the queues are full and the
  // refusal reached the edge), for at least `at_least` and at most
  // `at_most`; then the link passes again and delivery must resume.
  struct Phase {
    const char* name;
    int64_t refused;
    double seconds;
  };
  std::vector<Phase> phases;
  auto fault = [&](const char* name, void (TcpProxy::*start)(), milliseconds at_least,
                   milliseconds at_most) {
    int64_t refused_before = load.refused();
    auto t0 = Clock::now();
    (proxy_.get()->*start)();
    WaitFor([&] { return load.refused() > refused_before && Clock::now() - t0 >= at_least; },
            at_most);
    proxy_->Resume();
    phases.push_back({name, load.refused() - refused_before,
                      std::chrono::duration<double>(Clock::now() - t0).count()});
    int64_t resumed_at = load.last();
    EXPECT_TRUE(WaitFor([&] { return DeliveredAfter(resumed_at); }, seconds(20)))
        << "no event sent after the " << name << " ended was delivered\n"
        << Logs();
  };
  for (int round = 0; round < 2; ++round) {
    // Below the dataplane's request_timeout (5 s): a stalled batch is
    // answered late, not sent twice after a timeout.
    fault("stall", &TcpProxy::Stall, milliseconds(1500), milliseconds(3000));
    // Below retry_for (10 s): the link retries through the outage.
    fault("drop", &TcpProxy::Drop, milliseconds(1500), milliseconds(3000));
  }

  load.Stop();
  execute.Stop();
  std::set<int64_t> accepted = load.Accepted();
  ASSERT_FALSE(accepted.empty());

  // Every accepted event is logged or counted as dropped.
  std::set<int64_t> delivered;
  double dropped = 0;
  auto accounted = [&] {
    delivered = Delivered(accepted);
    dropped = Dropped();
    return static_cast<double>(accepted.size() - delivered.size()) == dropped;
  };
  EXPECT_TRUE(WaitFor(accounted, seconds(30)))
      << "accepted " << accepted.size() << ", delivered " << delivered.size() << ", dropped "
      << dropped << ": " << (static_cast<double>(accepted.size() - delivered.size()) - dropped)
      << " events vanished\n"
      << Logs();

  // Nothing reached the log that the ingress did not accept (events with
  // no clear answer excepted: none are expected, the ingress is not faulted).
  std::map<int64_t, int> other = load.Other();
  EXPECT_TRUE(other.empty()) << other.size() << " events had another answer, first: ev-"
                             << other.begin()->first << " " << other.begin()->second;
  std::vector<int64_t> logged = Logged();
  std::set<int64_t> unique(logged.begin(), logged.end());
  for (int64_t n : unique) {
    EXPECT_TRUE(accepted.contains(n) || other.contains(n)) << "ev-" << n << " was never accepted";
  }
  EXPECT_EQ(logged.size(), unique.size())
      << logged.size() - unique.size() << " events logged twice (at most once)";

  std::vector<std::string> failures = execute.Failures();
  EXPECT_TRUE(failures.empty()) << failures.size()
                                << " /execute calls failed, first: " << failures.front();
  EXPECT_GT(execute.ok(), 0);
  // The faults happened: the link's connections were dropped.
  TcpProxy::Counts link = proxy_->counts();
  EXPECT_GE(link.dropped, 2u);

  std::printf(
      "[ chaos ] accepted %zu, refused %lld, delivered %zu, dropped %.0f (%.0f more than "
      "missing), duplicates %zu; /execute ok %lld\n",
      accepted.size(), static_cast<long long>(load.refused()), delivered.size(), dropped,
      dropped - static_cast<double>(accepted.size() - delivered.size()),
      logged.size() - unique.size(), static_cast<long long>(execute.ok()));
  for (const Phase& p : phases) {
    std::printf("[ chaos ] %s: %.1f s, %lld refused at the ingress meanwhile\n", p.name, p.seconds,
                static_cast<long long>(p.refused));
  }
  std::printf("[ chaos ] proxy: %llu connections, %llu dropped, %llu refused, %llu bytes in\n",
              static_cast<unsigned long long>(link.accepted),
              static_cast<unsigned long long>(link.dropped),
              static_cast<unsigned long long>(link.refused),
              static_cast<unsigned long long>(link.to_target));
  std::printf("[ chaos ] wall time %.1f s\n",
              std::chrono::duration<double>(Clock::now() - started).count());
}

// Faults the product got wrong (tests/chaos/README.md), one test each,
// kept once fixed. A fault the product still gets wrong is a DISABLED_
// test here until it passes.

// An http-ingress whose target is on another node: a 503 (the link is full)
// is a refusal, not a drop (it was counted as one in
// aether_dataplane_dropped_total until Dataplane::Cast stopped counting).
TEST_F(LinkFaultsTest, AnIngressRefusalIsNotCountedAsADrop) {
  Start("dataplane_queue_length = 100\n", kDirect);
  ASSERT_FALSE(HasFatalFailure());
  IngressLoad load(ingress_);
  ASSERT_TRUE(WaitFor([&] { return !Logged().empty(); })) << Logs();
  proxy_->Stall();
  ASSERT_TRUE(WaitFor([&] { return load.refused() > 0; })) << Logs();
  proxy_->Resume();
  load.Stop();
  std::set<int64_t> accepted = load.Accepted();
  ASSERT_TRUE(WaitFor([&] { return Delivered(accepted).size() == accepted.size(); })) << Logs();
  EXPECT_EQ(Dropped(), 0) << "every accepted event was delivered; " << load.refused()
                          << " were refused with 503";
}

// A function's cast onto a full link waits for room (backpressure) and then
// gets in: no drop (Core::CastFrom's first attempt, without waiting, used to
// count one in Dataplane::Cast).
TEST_F(LinkFaultsTest, ACastThatWaitsForRoomOnTheLinkIsNotCountedAsADrop) {
  Start("dataplane_queue_length = 100\n", kChain);
  ASSERT_FALSE(HasFatalFailure());
  IngressLoad load(ingress_);
  ASSERT_TRUE(WaitFor([&] { return !Logged().empty(); })) << Logs();
  proxy_->Stall();
  // fa found the link full and waits (at most send_wait, 1 s): resume at once.
  ASSERT_TRUE(WaitFor([&] { return Metric(*a_, "aether_workflow_backpressure_waits_total") > 0; }))
      << Logs();
  proxy_->Resume();
  load.Stop();
  std::set<int64_t> accepted = load.Accepted();
  ASSERT_TRUE(WaitFor([&] { return Delivered(accepted).size() == accepted.size(); }))
      << "a cast waited longer than send_wait: nothing to show\n"
      << Logs();
  EXPECT_EQ(Dropped(), 0) << "every accepted event was delivered after "
                          << Metric(*a_, "aether_workflow_backpressure_waits_total") << " waits";
}

// At-most-once delivers no event twice: a batch whose answer does not come
// within the dataplane's request_timeout (5 s) is sent again on a new
// connection while the first copy is still on its way; once the link
// passes, the peer gets both copies under one batch id and delivers one
// (aether_dataplane_duplicate_batches_total counts the other).
TEST_F(LinkFaultsTest, AStallLongerThanTheRequestTimeoutDeliversNoEventTwice) {
  Start("", kChain);
  ASSERT_FALSE(HasFatalFailure());
  IngressLoad load(ingress_);
  ASSERT_TRUE(WaitFor([&] { return !Logged().empty(); })) << Logs();
  proxy_->Stall();
  // A batch is held, then sent again once its request timed out.
  ASSERT_TRUE(WaitFor([&] { return proxy_->counts().accepted >= 2; }, seconds(15))) << Logs();
  proxy_->Resume();
  load.Stop();
  std::set<int64_t> accepted = load.Accepted();
  ASSERT_TRUE(WaitFor([&] { return Delivered(accepted).size() == accepted.size(); })) << Logs();
  std::vector<int64_t> logged = Logged();
  std::set<int64_t> unique(logged.begin(), logged.end());
  EXPECT_EQ(logged.size(), unique.size())
      << logged.size() - unique.size() << " events logged twice";
  // The resent copy reached edge-b and was answered from its window (the
  // proxy held the first copy, so both arrived).
  EXPECT_TRUE(WaitFor([&] { return Metric(*b_, "aether_dataplane_duplicate_batches_total") >= 1; }))
      << Logs();
}

}  // namespace
}  // namespace aether::testing
