// The flow control of workflows: a full mailbox holds its sender (up to
// send_wait) instead of dropping, so a slow stage slows the ones before it
// and the refusal reaches the http-ingress, whose client is told (503,
// Retry-After) — every event the ingress accepted is delivered.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>
#include <vector>

#include "workflow/workflow_host.h"
#include "workflow/workflow_test_util.h"

namespace aether::workflow {
namespace {

using namespace testing;  // NOLINT
using std::chrono::milliseconds;

class WorkflowBackpressureTest : public HostFixture {
 protected:
  void Make(size_t mailbox, milliseconds send_wait) {
    HostFixture::Make({.mailbox = mailbox, .send_wait = send_wait, .timeout = milliseconds(5000)});
  }

  void SetUp() override {
    fwd_.outputs["out"] = {Local(slow_.id)};
    slow_.outputs["out"] = {Remote("wf-test/sink/0")};
  }
  // Casts `payload` n times.
  void CastAll(const std::string& id, int n, const std::string& payload) {
    HostFixture::CastAll(id, n, [&](int) { return payload; });
  }
  double Metric(const std::string& name) {
    std::string text = metrics_.Render();
    size_t at = text.find("\n" + name + " ");
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + name.size() + 2));
  }

  // fwd (wf_forward) -> slow (wf_slow: spins `payload` ms, then casts
  // "done") -> the remote sink.
  InstanceAssignment fwd_ = Fn("fwd", "wf_forward"), slow_ = Fn("slow", "wf_slow");
};

TEST_F(WorkflowBackpressureTest, AFullMailboxHoldsTheSenderAndDropsNothing) {
  Make(/*mailbox=*/4, /*send_wait=*/milliseconds(5000));
  ApplyAndWait({fwd_, slow_});
  // 150 events of 2 ms through a 4-slot mailbox: fwd outruns slow at once.
  CastAll(fwd_.id, 150, "2");
  ASSERT_TRUE(remote_.WaitFor(150, std::chrono::seconds(30))) << remote_.count();
  EXPECT_EQ(StatusOf(*host_, slow_.id)->dropped, 0);
  EXPECT_EQ(StatusOf(*host_, fwd_.id)->dropped, 0);
  EXPECT_GT(Metric("aether_workflow_backpressure_waits_total"), 0) << metrics_.Render();
  EXPECT_EQ(Metric("aether_dataplane_dropped_total"), 0) << metrics_.Render();
}

TEST_F(WorkflowBackpressureTest, WithoutSendWaitAFullMailboxDropsAndCounts) {
  Make(/*mailbox=*/4, /*send_wait=*/milliseconds(0));
  ApplyAndWait({fwd_, slow_});
  CastAll(fwd_.id, 150, "2");
  ASSERT_TRUE(Eventually([&] { return StatusOf(*host_, fwd_.id)->events == 150; }));
  // Every event either reached the sink or was counted as dropped at slow.
  ASSERT_TRUE(Eventually([&] {
    return static_cast<int64_t>(remote_.count()) + StatusOf(*host_, slow_.id)->dropped == 150;
  })) << remote_.count()
      << " delivered, " << StatusOf(*host_, slow_.id)->dropped << " dropped";
  int64_t dropped = StatusOf(*host_, slow_.id)->dropped;
  EXPECT_GT(dropped, 0);
  EXPECT_EQ(Metric("aether_dataplane_dropped_total"), static_cast<double>(dropped));
  EXPECT_EQ(Metric("aether_workflow_backpressure_waits_total"), 0);
}

TEST_F(WorkflowBackpressureTest, AHeldSenderIsRefusedAtSendWait) {
  Make(/*mailbox=*/1, /*send_wait=*/milliseconds(50));
  ApplyAndWait({fwd_, slow_});
  // slow is busy for 1.5 s with the first and holds the second in its
  // mailbox: fwd's third cast waits 50 ms, then the guest gets AETHER_EFULL
  // (counted as dropped at slow) and fwd goes on (no trap, no restart).
  // (On a very busy machine the second may find slow not started yet and
  // be the one refused: one or two refusals, never a hang.)
  CastAll(fwd_.id, 3, "1500");
  ASSERT_TRUE(Eventually([&] { return StatusOf(*host_, fwd_.id)->events == 3; }));
  EXPECT_GE(StatusOf(*host_, slow_.id)->dropped, 1);
  EXPECT_LE(StatusOf(*host_, slow_.id)->dropped, 2);
  EXPECT_EQ(StatusOf(*host_, fwd_.id)->restarts, 0);
  EXPECT_GE(Metric("aether_workflow_backpressure_waits_total"), 1);
}

TEST_F(WorkflowBackpressureTest, TheIngressRefusesWhatTheChainCannotTakeAndDeliversTheRest) {
  Make(/*mailbox=*/8, /*send_wait=*/milliseconds(5000));
  auto in = IngressOf("in", {{"mode", "cast"}}, fwd_.id);
  ApplyAndWait({fwd_, slow_, in});
  std::atomic<int> accepted{0}, refused{0}, other{0}, retry_after{0};
  std::vector<std::thread> clients;
  clients.reserve(4);
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&] {
      for (int i = 0; i < 300; ++i) {
        std::promise<IngressReply> p;
        host_->Ingress(kWf, "in", "POST", "1", [&p](IngressReply r) { p.set_value(std::move(r)); });
        IngressReply r = p.get_future().get();
        if (r.status == 202) {
          ++accepted;
        } else if (r.status == 503 && r.body.find("\"code\":\"full\"") != std::string::npos) {
          ++refused;
          if (r.retry_after_s == 1) ++retry_after;
        } else {
          ++other;
        }
      }
    });
  }
  for (std::thread& t : clients) t.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_GT(refused.load(), 0) << "the chain never filled: " << accepted.load() << " accepted";
  EXPECT_EQ(retry_after.load(), refused.load());
  // Nothing accepted is lost: each 202 reaches the sink, none is dropped.
  ASSERT_TRUE(remote_.WaitFor(static_cast<size_t>(accepted.load()), std::chrono::seconds(60)))
      << remote_.count() << " of " << accepted.load();
  EXPECT_EQ(StatusOf(*host_, slow_.id)->dropped, 0);
  EXPECT_EQ(StatusOf(*host_, fwd_.id)->dropped, 0);
  EXPECT_EQ(Metric("aether_dataplane_dropped_total"), 0);
  EXPECT_EQ(Metric("aether_workflow_refused_total"), refused.load());
  // And nothing more arrives than was accepted.
  EXPECT_TRUE(Eventually([&] { return StatusOf(*host_, slow_.id)->events == accepted.load(); }));
  EXPECT_EQ(remote_.count(), static_cast<size_t>(accepted.load()));
}

}  // namespace
}  // namespace aether::workflow
