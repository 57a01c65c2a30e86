// At-least-once workflows over an event log (event_log.h; here the
// in-memory one): casts are appended and acknowledged after handling, a
// repeat of a handled event is skipped, a failed event is attempted again
// and finally given up, a stopping instance hands its queue back, and a
// cast that did not reach the log makes its event be handled again.
#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "workflow/internal/event_ids.h"
#include "workflow/testing/memory_event_log.h"
#include "workflow/workflow_host.h"
#include "workflow/workflow_test_util.h"

namespace aether::workflow {
namespace {

using namespace testing;  // NOLINT
using std::chrono::milliseconds;

class WorkflowDeliveryTest : public ::testing::Test {
 protected:
  std::unique_ptr<WorkflowHost> MakeHost(std::shared_ptr<EventLog> log, int max_deliveries = 10) {
    WorkflowHostOptions o = TestOptions(&remote_, &events_);
    o.event_log = std::move(log);
    o.max_deliveries = max_deliveries;
    o.metrics = &metrics_;
    auto h = WorkflowHost::Create(std::move(o));
    EXPECT_TRUE(h.ok()) << h.status().ToString();
    return h.ok() ? std::move(*h) : nullptr;
  }
  void TearDown() override {
    for (auto& h : hosts_) h->Stop();
  }
  WorkflowHost& Start(std::vector<InstanceAssignment> instances, int max_deliveries = 10,
                      const std::shared_ptr<EventLog>& log = nullptr) {
    hosts_.push_back(MakeHost(log != nullptr ? log : log_, max_deliveries));
    for (auto& a : instances) a.delivery = protocol::Delivery::kAtLeastOnce;
    EXPECT_TRUE(ApplyAndWaitRunning(*hosts_.back(), std::move(instances)));
    return *hosts_.back();
  }
  // An event from outside the workflow into `component`'s events.
  void Put(const std::string& component, const std::string& id, const std::string& payload) {
    ASSERT_TRUE(log_->EnsureWorkflow(kWf).ok());
    ASSERT_TRUE(
        log_->Append(kWf, component, {id, "test", payload}, std::chrono::steady_clock::now()).ok());
  }
  size_t Stored(const std::string& component) { return log_->Unsettled(kWf, component).size(); }
  // A POST to the ingress at /wf/<kWf>/orders with `key` as its
  // Idempotency-Key ("" for none).
  static IngressReply Request(WorkflowHost& host, const std::string& key, const std::string& body) {
    std::promise<IngressReply> p;
    host.Ingress(kWf, "orders", "POST", key, body,
                 [&](IngressReply r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }
  double Metric(const std::string& name) {
    std::string text = metrics_.Render();
    size_t at = text.find("\n" + name + " ");
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + name.size() + 2));
  }
  // `component` (guest `guest`) casting "out" to the component "sink",
  // which runs nowhere: what it receives stays in the log for the test.
  static InstanceAssignment ToSink(const std::string& component, const std::string& guest) {
    InstanceAssignment a = Fn(component, guest);
    a.outputs["out"] = {Remote(Id("sink"))};
    return a;
  }

  std::shared_ptr<MemoryEventLog> log_ = std::make_shared<MemoryEventLog>(milliseconds(300));
  FakeRemote remote_;
  Recorder events_;
  MetricsRegistry metrics_;  // outlives the hosts
  std::vector<std::unique_ptr<WorkflowHost>> hosts_;
};

TEST_F(WorkflowDeliveryTest, CastsGoThroughTheLogAndAreAcknowledged) {
  Start({ToSink("fwd", "wf_echo")});
  for (int i = 0; i < 50; ++i) Put("fwd", "e" + std::to_string(i), "p" + std::to_string(i));
  ASSERT_TRUE(Eventually([&] { return Stored("sink") == 50 && Stored("fwd") == 0; }))
      << Stored("sink") << " " << Stored("fwd");
  EXPECT_EQ(log_->acked(), 50);
  EXPECT_EQ(remote_.count(), 0u);  // nothing went over the dataplane
  std::vector<LogEvent> sink = log_->Unsettled(kWf, "sink");
  EXPECT_EQ(sink[0].source, "fwd");
  // The ids derive from the handled event's: handling it again adds nothing.
  std::set<std::string> ids;
  for (const LogEvent& e : sink) ids.insert(e.id);
  EXPECT_TRUE(ids.contains(internal::DerivedEventId("e7", "out", 0)));
}

// A workflow deleted and created again under the same name between two
// assignments: the instance is replaced, and the new one takes events from
// the new incarnation's stream only, never the old one's.
TEST_F(WorkflowDeliveryTest, AnotherIncarnationTakesNoneOfTheOldEvents) {
  InstanceAssignment fwd = ToSink("fwd", "wf_echo");
  fwd.incarnation = 1;
  fwd.delivery = protocol::Delivery::kAtLeastOnce;
  WorkflowHost& host = Start({fwd});
  auto put = [&](int64_t incarnation, const std::string& id) {
    WorkflowRef w{kWf, incarnation};
    ASSERT_TRUE(log_->EnsureWorkflow(w).ok());
    ASSERT_TRUE(log_->Append(w, "fwd", {id, "test", id}, std::chrono::steady_clock::now()).ok());
  };
  const std::string first = std::string(kWf) + "@1", second = std::string(kWf) + "@2";
  put(1, "before");
  ASSERT_TRUE(Eventually([&] { return log_->Unsettled(first, "sink").size() == 1; }));

  fwd.incarnation = 2;
  ASSERT_TRUE(ApplyAndWaitRunning(host, {fwd}));
  put(1, "old");
  put(2, "new");
  ASSERT_TRUE(Eventually([&] { return log_->Unsettled(second, "sink").size() == 1; }));
  EXPECT_EQ(log_->Unsettled(second, "sink")[0].source, "fwd");
  // The old incarnation's event is still waiting: nobody took it.
  std::vector<LogEvent> old = log_->Unsettled(first, "fwd");
  ASSERT_EQ(old.size(), 1u);
  EXPECT_EQ(old[0].id, "old");
  EXPECT_EQ(log_->Unsettled(first, "sink").size(), 1u);
}

TEST_F(WorkflowDeliveryTest, ARepeatOfAHandledEventIsSkipped) {
  Start({ToSink("fwd", "wf_echo")});
  log_->set_lose_acks(true);  // as if each acknowledgement were lost on the way
  Put("fwd", "once", "x");
  ASSERT_TRUE(Eventually([&] {
    return log_->redelivered() >= 1 && Metric("aether_workflow_duplicates_total") >= 1;
  })) << metrics_.Render();
  log_->set_lose_acks(false);
  ASSERT_TRUE(Eventually([&] { return Stored("fwd") == 0; }));
  EXPECT_EQ(Stored("sink"), 1u);
  EXPECT_EQ(StatusOf(*hosts_[0], Id("fwd"))->events, 1);  // handled once
}

TEST_F(WorkflowDeliveryTest, AnotherInstanceHandlingItAgainCastsTheSameIds) {
  // The first instance handles the event and its node dies before the
  // acknowledgement: the event goes to an instance on another node, whose
  // casts the log recognizes.
  WorkflowHost& first = Start({ToSink("fwd", "wf_echo")});
  log_->set_lose_acks(true);
  Put("fwd", "moved", "x");
  ASSERT_TRUE(Eventually([&] { return Stored("sink") == 1; }));
  first.Stop();
  log_->set_lose_acks(false);
  WorkflowHost& second = Start({ToSink("fwd", "wf_echo")});
  ASSERT_TRUE(Eventually([&] { return Stored("fwd") == 0; }));
  EXPECT_EQ(StatusOf(second, Id("fwd"))->events, 1);  // it did handle it again...
  EXPECT_EQ(Stored("sink"), 1u);                      // ...and the sink has it once
}

TEST_F(WorkflowDeliveryTest, AFailingEventIsAttemptedAgainThenGivenUp) {
  Start({ToSink("t", "wf_trap")}, /*max_deliveries=*/3);
  Put("t", "bad", "trap");
  Put("t", "good", "fine");
  ASSERT_TRUE(
      Eventually([&] { return log_->termed() == 1 && Stored("t") == 0; }, std::chrono::seconds(20)))
      << log_->termed() << " " << Stored("t");
  EXPECT_EQ(Stored("sink"), 1u);  // "fine" went on
  EXPECT_EQ(Metric("aether_workflow_given_up_total"), 1);
  EXPECT_EQ(StatusOf(*hosts_[0], Id("t"))->restarts, 3);  // one trap per attempt
  bool reported = false;
  for (const std::string& e : events_.Events()) {
    reported |=
        e.find("event_given_up") != std::string::npos && e.find("\"bad\"") != std::string::npos;
  }
  EXPECT_TRUE(reported);
}

TEST_F(WorkflowDeliveryTest, ACastThatDidNotReachTheLogMakesTheEventBeHandledAgain) {
  Start({ToSink("fwd", "wf_echo")});
  log_->set_refused("sink");
  Put("fwd", "retry-me", "x");
  ASSERT_TRUE(Eventually([&] { return log_->redelivered() >= 1; }));
  EXPECT_EQ(Stored("fwd"), 1u);  // not acknowledged while its cast fails
  log_->set_refused("");
  ASSERT_TRUE(Eventually([&] { return Stored("fwd") == 0 && Stored("sink") == 1; }));
}

TEST_F(WorkflowDeliveryTest, AStoppingInstanceHandsItsQueueBack) {
  WorkflowHost& first = Start({ToSink("slow", "wf_slow")});
  for (int i = 0; i < 6; ++i) Put("slow", "s" + std::to_string(i), "200");
  ASSERT_TRUE(Eventually([&] { return Stored("sink") >= 1; }));
  first.Stop();
  size_t done = Stored("sink");
  EXPECT_LT(done, 6u);
  EXPECT_EQ(Stored("slow"), 6 - done);  // handed back, not waiting for the ack wait
  Start({ToSink("slow", "wf_slow")});
  ASSERT_TRUE(Eventually([&] { return Stored("sink") == 6 && Stored("slow") == 0; },
                         std::chrono::seconds(20)));
}

TEST_F(WorkflowDeliveryTest, WithoutALogTheInstanceFailsAndSaysWhy) {
  hosts_.push_back(MakeHost(nullptr));
  InstanceAssignment a = ToSink("fwd", "wf_echo");
  a.delivery = protocol::Delivery::kAtLeastOnce;
  hosts_.back()->Apply({a});
  ASSERT_TRUE(Eventually([&] {
    auto s = StatusOf(*hosts_.back(), a.id);
    return s && s->state == "failed";
  }));
  EXPECT_NE(StatusOf(*hosts_.back(), a.id)->last_error.find("[nats] urls"), std::string::npos);
}

TEST_F(WorkflowDeliveryTest, TheIngressAnswersOnceTheLogStoredTheEvent) {
  InstanceAssignment in = IngressOf("in", {{"path", "orders"}, {"mode", "cast"}}, Id("fwd"));
  in.outputs["new_request"] = {Remote(Id("fwd"))};
  WorkflowHost& host = Start({in});
  auto request = [&] {
    std::promise<IngressReply> p;
    host.Ingress(kWf, "orders", "POST", "order-1",
                 [&](IngressReply r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  };
  IngressReply first = request();
  EXPECT_EQ(first.status, 202) << first.body;
  ASSERT_EQ(Stored("fwd"), 1u);
  EXPECT_EQ(log_->Unsettled(kWf, "fwd")[0].payload, "order-1");
  log_->set_down(true);
  IngressReply r = request();
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("unavailable"), std::string::npos) << r.body;
  EXPECT_EQ(r.retry_after_s, 1);
  EXPECT_EQ(Metric("aether_workflow_refused_total"), 1);
}

TEST_F(WorkflowDeliveryTest, ARequestRetriedWithItsIdempotencyKeyIsStoredOnce) {
  InstanceAssignment in = IngressOf("in", {{"path", "orders"}, {"mode", "cast"}}, Id("fwd"));
  in.outputs["new_request"] = {Remote(Id("fwd"))};
  WorkflowHost& host = Start({in});
  for (int i = 0; i < 3; ++i) {
    IngressReply r = Request(host, "order-42", "order #42");
    EXPECT_EQ(r.status, 202) << r.body;
  }
  ASSERT_EQ(Stored("fwd"), 1u);
  EXPECT_EQ(log_->Unsettled(kWf, "fwd")[0].id, internal::IngressEventId(kWf, "in", "order-42"));
  EXPECT_EQ(Request(host, "order-43", "order #43").status, 202);
  EXPECT_EQ(Stored("fwd"), 2u);
  // Without a key every request is a new event.
  EXPECT_EQ(Request(host, "", "x").status, 202);
  EXPECT_EQ(Request(host, "", "x").status, 202);
  EXPECT_EQ(Stored("fwd"), 4u);
}

TEST_F(WorkflowDeliveryTest, ABadIdempotencyKeyIsA400) {
  InstanceAssignment in = IngressOf("in", {{"path", "orders"}, {"mode", "cast"}}, Id("fwd"));
  in.outputs["new_request"] = {Remote(Id("fwd"))};
  WorkflowHost& host = Start({in});
  for (const std::string& key : {std::string("two words"), std::string(256, 'k'),
                                 std::string("tab\there"), std::string("caf\xc3\xa9")}) {
    IngressReply r = Request(host, key, "x");
    EXPECT_EQ(r.status, 400) << key;
    EXPECT_NE(r.body.find("\"code\":\"invalid_idempotency_key\""), std::string::npos) << r.body;
  }
  EXPECT_EQ(Request(host, std::string(255, 'k'), "x").status, 202);
  EXPECT_EQ(Stored("fwd"), 1u);
}

TEST_F(WorkflowDeliveryTest, AnAtMostOnceIngressRefusesAnIdempotencyKey) {
  hosts_.push_back(MakeHost(log_));
  InstanceAssignment in = IngressOf("in", {{"path", "orders"}, {"mode", "cast"}}, Id("fwd"));
  in.outputs["new_request"] = {Remote(Id("fwd"))};
  ASSERT_TRUE(ApplyAndWaitRunning(*hosts_.back(), {in}));
  IngressReply r = Request(*hosts_.back(), "order-42", "x");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("idempotency_key_not_supported"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("at-most-once"), std::string::npos) << r.body;
  EXPECT_EQ(remote_.count(), 0u);  // not sent
  // Without the key it is accepted as before.
  EXPECT_EQ(Request(*hosts_.back(), "", "x").status, 202);
}

}  // namespace
}  // namespace aether::workflow
