// Resources hosted by WorkflowHost: created through CreateResource, reached
// by guests (blocking calls go to the resource directly), by casts and
// asynchronous calls (through its mailbox) and by an http-ingress.
#include <gtest/gtest.h>

#include <future>

#include "workflow/workflow_host.h"
#include "workflow/workflow_test_util.h"

namespace aether::workflow {
namespace {

using namespace testing;  // NOLINT

InstanceAssignment Res(const std::string& component, const std::string& class_type,
                       ResourceConfigMap config = {}) {
  InstanceAssignment a;
  a.id = Id(component);
  a.workflow = kWf;
  a.component = component;
  a.kind = InstanceAssignment::Kind::kResource;
  a.class_type = class_type;
  a.configurations = std::move(config);
  return a;
}

class WorkflowResourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto h = WorkflowHost::Create(TestOptions(&remote_, &events_));
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    host_ = std::move(*h);
  }
  void TearDown() override { host_->Stop(); }

  FakeRemote remote_;
  Recorder events_;
  std::unique_ptr<WorkflowHost> host_;
};

TEST_F(WorkflowResourceTest, GuestsCastsAndIngressReachAKv) {
  auto fwd = Fn("fwd", "wf_forward"), kv = Res("kv", "kv");
  auto in = Res("in", "http-ingress", {{"path", "kv"}});
  fwd.outputs["out"] = {Local(kv.id)};
  in.outputs["new_request"] = {Local(kv.id)};
  host_->Apply({fwd, kv, in});
  ASSERT_TRUE(Eventually([&] { return Running(*host_, {fwd.id, kv.id, in.id}); }));

  // A guest's aether.call (wf_forward calls "out" and replies its reply).
  auto r = CallSync(*host_, fwd.id, "SET colour blue");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "OK");
  r = CallSync(*host_, fwd.id, "GET colour");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "blue");
  // Casts and calls from outside go through its mailbox, in order.
  ASSERT_TRUE(host_->Cast(kv.id, "test", "INCR n").ok());
  ASSERT_TRUE(host_->Cast(kv.id, "test", "INCR n 41").ok());
  r = CallSync(*host_, kv.id, "GET n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "42");
  // A failing command is the resource's failure, answered to the caller.
  r = CallSync(*host_, kv.id, "BOGUS");
  EXPECT_FALSE(r.ok());
  EXPECT_GE(StatusOf(*host_, kv.id)->failures, 1);
  // An http-ingress in front of it.
  std::promise<IngressReply> p;
  host_->Ingress(kWf, "kv", "POST", "GET colour", [&p](IngressReply rep) { p.set_value(rep); });
  IngressReply rep = p.get_future().get();
  EXPECT_EQ(rep.status, 200);
  EXPECT_EQ(rep.body, "blue");
}

TEST_F(WorkflowResourceTest, UnknownClassFailsAndIsReported) {
  auto bad = Res("bad", "no-such-class");
  host_->Apply({bad});
  ASSERT_TRUE(Eventually([&] {
    auto s = StatusOf(*host_, bad.id);
    return s && s->state == "failed";
  }));
  EXPECT_FALSE(StatusOf(*host_, bad.id)->last_error.empty());
  EXPECT_EQ(host_->Cast(bad.id, "test", "x").code(), Code::kUnavailable);
  // The event is posted just after the state changes.
  ASSERT_TRUE(Eventually([&] { return !events_.Events().empty(); }));
  auto events = events_.Events();
  EXPECT_NE(events[0].find("\"event\":\"instance_failed\""), std::string::npos) << events[0];
}

TEST_F(WorkflowResourceTest, TimerCastsToAFunction) {
  auto timer = Res("tick", "timer", {{"period_ms", "10"}, {"payload", "tick"}});
  auto counter = Fn("count", "wf_counter_state");
  timer.outputs["out"] = {Local(counter.id)};
  host_->Apply({timer, counter});
  ASSERT_TRUE(Eventually([&] {
    auto s = StatusOf(*host_, counter.id);
    return s && s->events >= 3;
  }));
}

}  // namespace
}  // namespace aether::workflow
