#include "control/workflows/instance_statuses.h"

#include <gtest/gtest.h>

namespace aether::control {
namespace {

// Workflow "w": function component "f" (2 instances) on nodes a and b, and an
// http-ingress "in" on a.
WorkflowSnapshot Snapshot() {
  WorkflowRecord r;
  r.id = "w";
  r.name = "w";
  r.spec.name = "w";
  FunctionSpec f;
  f.name = "f";
  f.function = "fn";
  f.max_instances = 2;
  r.spec.functions.push_back(f);
  ResourceSpec in;
  in.name = "in";
  in.class_type = "http-ingress";
  in.configurations = {{"path", "orders"}};
  r.spec.resources.push_back(in);
  r.placement["w/f/0"] = {"a", "http://a:1", "", ""};
  r.placement["w/f/1"] = {"b", "http://b:1", "", ""};
  r.placement["w/in/0"] = {"a", "http://a:1", "", ""};
  WorkflowSnapshot snap;
  snap.workflows.push_back(std::move(r));
  return snap;
}

const std::map<std::string, NodeLiveness> kBothUp{{"a", {"http://a:1", true}},
                                                  {"b", {"http://b:1", true}}};

InstanceReport Running(std::string id) { return {std::move(id), "running", 1, 0, 0, 0, "", {}}; }

TEST(InstanceStatusesTest, PlacedUntilReportedThenRunning) {
  WorkflowSnapshot snap = Snapshot();
  InstanceStatuses st;
  InstanceStatuses::Described d = st.Describe(snap.workflows[0], kBothUp);
  EXPECT_EQ(d.view.state, "pending");
  EXPECT_EQ(d.view.reason, "waiting for 3 instance(s) to start");
  EXPECT_EQ(d.placed, 3);
  ASSERT_EQ(d.view.instances.size(), 3u);
  EXPECT_EQ(d.view.instances[0].state, "placed");
  EXPECT_EQ(d.view.instances[2].what, "http-ingress");
  EXPECT_TRUE(d.view.instances[2].resource);
  ASSERT_EQ(d.view.ingress.size(), 1u);
  EXPECT_EQ(d.view.ingress[0].url, "http://a:1/wf/w/orders");

  st.Report("a", snap, {Running("w/f/0"), Running("w/in/0"), Running("gone/x/0")}, "t1");
  st.Report("a", snap, {Running("w/f/1")}, "t1");  // not placed on a: ignored in the state
  d = st.Describe(snap.workflows[0], kBothUp);
  EXPECT_EQ(d.view.instances[0].state, "running");
  EXPECT_EQ(d.view.instances[0].reported_at, "t1");
  EXPECT_EQ(d.view.instances[1].state, "placed");
  st.Report("b", snap, {Running("w/f/1")}, "t2");
  d = st.Describe(snap.workflows[0], kBothUp);
  EXPECT_EQ(d.view.state, "running");
  EXPECT_EQ(d.view.reason, "");
}

TEST(InstanceStatusesTest, FailuresAndDownNodesDegrade) {
  WorkflowSnapshot snap = Snapshot();
  InstanceStatuses st;
  InstanceReport failed = Running("w/f/0");
  failed.state = "failed";
  failed.last_error = "trap";
  st.Report("a", snap, {failed, Running("w/in/0")}, "t");
  st.Report("b", snap, {Running("w/f/1")}, "t");
  auto d = st.Describe(snap.workflows[0], kBothUp);
  EXPECT_EQ(d.view.state, "degraded");
  EXPECT_EQ(d.view.reason, "instance w/f/0 is failed: trap");
  d = st.Describe(snap.workflows[0], {{"a", {"http://a:1", true}}, {"b", {"http://b:1", false}}});
  EXPECT_EQ(d.view.instances[1].state, "lost");
  EXPECT_NE(d.view.reason.find("node b is down"), std::string::npos) << d.view.reason;
}

TEST(InstanceStatusesTest, ForgetAndRetain) {
  WorkflowSnapshot snap = Snapshot();
  InstanceStatuses st;
  st.Report("a", snap, {Running("w/f/0")}, "t");
  st.ForgetWorkflow("w");
  EXPECT_EQ(st.Describe(snap.workflows[0], kBothUp).view.instances[0].state, "placed");
  st.Report("a", snap, {Running("w/f/0")}, "t");
  st.Retain(WorkflowSnapshot{});  // the workflow is gone
  EXPECT_EQ(st.Describe(snap.workflows[0], kBothUp).view.instances[0].state, "placed");
  st.Report("a", snap, {Running("w/f/0")}, "t");
  st.Retain(snap);
  EXPECT_EQ(st.Describe(snap.workflows[0], kBothUp).view.instances[0].state, "running");
}

TEST(InstanceStatusesTest, UnplacedIsPendingWithTheStoredReason) {
  WorkflowSnapshot snap = Snapshot();
  WorkflowRecord& r = snap.workflows[0];
  r.placement["w/f/1"] = {};
  r.reason = "functions \"f\": no live node";
  auto d = InstanceStatuses().Describe(r, kBothUp);
  EXPECT_EQ(d.view.state, "pending");
  EXPECT_EQ(d.view.reason, r.reason);
  EXPECT_EQ(d.unplaced, 1);
  EXPECT_EQ(d.view.instances[1].state, "unplaced");
}

}  // namespace
}  // namespace aether::control
