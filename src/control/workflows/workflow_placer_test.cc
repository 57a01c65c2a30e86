#include "control/workflows/workflow_placer.h"

#include <gtest/gtest.h>

namespace aether::control {
namespace {

PlacementInputs Inputs() {
  PlacementInputs in;
  in.shas = {{"fn", std::string(64, 'a')}};
  NodeStatus a;
  a.reg.node_id = "a";
  a.reg.url = "http://a:1";
  a.up = true;
  a.credential_id = "c-a";
  in.nodes = {a};
  in.candidates = {{"a", {}, true, 0}};
  return in;
}

WorkflowSpec Spec(const std::string& function) {
  WorkflowSpec spec;
  FunctionSpec f;
  f.name = "f";
  f.function = function;
  spec.functions.push_back(f);
  ResourceSpec in;
  in.name = "in";
  in.class_type = "http-ingress";
  spec.resources.push_back(in);
  return spec;
}

TEST(WorkflowPlacerTest, StoresUrlCredentialAndVersion) {
  PlacementInputs in = Inputs();
  std::map<std::string, int64_t> counts;
  WorkflowPlacement p = PlaceWorkflow("w", Spec("fn"), {}, in, counts);
  EXPECT_EQ(p.reason, "");
  EXPECT_EQ(p.placement.at("w/f/0"), (PlacedInstance{"a", "http://a:1", "c-a", in.shas["fn"]}));
  EXPECT_EQ(p.placement.at("w/in/0"), (PlacedInstance{"a", "http://a:1", "c-a", ""}));
  EXPECT_EQ(counts.at("a"), 2);
}

TEST(WorkflowPlacerTest, AFunctionNotDeployedBlocksItsComponent) {
  std::map<std::string, int64_t> counts;
  WorkflowPlacement p = PlaceWorkflow("w", Spec("gone"), {}, Inputs(), counts);
  EXPECT_EQ(p.placement.at("w/f/0").node_id, "");
  EXPECT_EQ(p.placement.at("w/in/0").node_id, "a");
  EXPECT_NE(p.reason.find("function \"gone\" is not deployed"), std::string::npos) << p.reason;
}

TEST(WorkflowPlacerTest, CountsOnlyUpNodes) {
  WorkflowSnapshot snap;
  WorkflowRecord r;
  r.placement = {{"w/f/0", {"a", "", "", ""}}, {"w/f/1", {"b", "", "", ""}}, {"w/f/2", {}}};
  snap.workflows = {r};
  std::map<std::string, int64_t> counts =
      InstanceCounts(snap, {{"a", {}, true, 0}, {"b", {}, false, 0}});
  EXPECT_EQ(counts, (std::map<std::string, int64_t>{{"a", 1}}));
  EXPECT_EQ(JoinReasons({"x", "y"}), "x; y");
}

}  // namespace
}  // namespace aether::control
