#include "control/workflows/placement.h"

#include <gtest/gtest.h>

#include <set>

namespace aether::control {
namespace {

PlacementNode Node(std::string id, std::map<std::string, std::string> labels = {}, bool up = true,
                   int64_t load = 0) {
  return {std::move(id), std::move(labels), up, load};
}

PlacementDemand Fn(std::string name, int instances = 1, std::vector<std::string> ids = {},
                   std::vector<LabelMatch> labels = {}) {
  return {"functions", std::move(name), instances, std::move(ids), std::move(labels), ""};
}

PlacementResult PlaceFresh(const std::vector<PlacementDemand>& demands,
                           const std::vector<PlacementNode>& nodes,
                           std::map<std::string, std::string> current = {}) {
  std::map<std::string, int64_t> counts;
  for (const auto& [id, node] : current) {
    if (!node.empty()) ++counts[node];
  }
  return Place("wf", demands, current, nodes, counts);
}

PlacementNode Cordoned(std::string id) {
  PlacementNode n = Node(std::move(id));
  n.cordoned = true;
  return n;
}

PlacementNode Draining(std::string id) {
  PlacementNode n = Node(std::move(id));
  n.draining = true;
  return n;
}

TEST(PlacementTest, ACordonedNodeKeepsWhatItHasAndTakesNothingNew) {
  std::vector<PlacementNode> nodes{Cordoned("a"), Node("b")};
  // wf/f/0 stays on a; wf/f/1 and g's instance go to b, though a has fewer.
  PlacementResult r = PlaceFresh({Fn("f", 2), Fn("g")}, nodes, {{"wf/f/0", "a"}});
  EXPECT_TRUE(r.complete());
  EXPECT_EQ(r.assignment.at("wf/f/0"), "a");
  EXPECT_EQ(r.assignment.at("wf/f/1"), "b");
  EXPECT_EQ(r.assignment.at("wf/g/0"), "b");
}

TEST(PlacementTest, ADrainingNodesInstancesMoveAway) {
  std::vector<PlacementNode> nodes{Draining("a"), Node("b")};
  PlacementResult r = PlaceFresh({Fn("f")}, nodes, {{"wf/f/0", "a"}});
  EXPECT_TRUE(r.complete());
  EXPECT_EQ(r.assignment.at("wf/f/0"), "b");
}

TEST(PlacementTest, OnlyClosedNodesLeftIsTheReasonNamingThem) {
  PlacementResult r =
      PlaceFresh({Fn("f", 1, {"a", "b"})}, {Cordoned("a"), Draining("b"), Node("c")});
  ASSERT_FALSE(r.complete());
  EXPECT_EQ(r.assignment.at("wf/f/0"), "");
  EXPECT_EQ(r.reasons[0],
            "functions \"f\": every live node it may run on takes no new instances: a (cordoned), "
            "b (draining) (aether nodes uncordon NODE)");
  // A draining node's instance with nowhere to go stays where it runs.
  PlacementResult stuck = PlaceFresh({Fn("f")}, {Draining("a"), Cordoned("b")}, {{"wf/f/0", "a"}});
  EXPECT_TRUE(stuck.complete());
  EXPECT_EQ(stuck.assignment.at("wf/f/0"), "a");
}

TEST(PlacementTest, RoundRobinTakesTheNextNodeEachTime) {
  std::vector<PlacementNode> nodes{Node("a"), Node("b"), Node("c")};
  PlacementState state;
  state.policy = PlacementPolicy::kRoundRobin;
  std::map<std::string, int64_t> counts{{"a", 9}};  // ignored by this policy
  std::vector<std::string> chosen;
  for (int i = 0; i < 5; ++i) {
    PlacementResult r = Place("wf" + std::to_string(i), {Fn("f")}, {}, nodes, counts, &state);
    chosen.push_back(r.assignment.at("wf" + std::to_string(i) + "/f/0"));
  }
  EXPECT_EQ(chosen, (std::vector<std::string>{"a", "b", "c", "a", "b"}));
  // Distinct nodes for one component's instances still come first.
  PlacementResult two = Place("x", {Fn("f", 2)}, {}, {Node("a"), Node("b")}, counts, &state);
  EXPECT_NE(two.assignment.at("x/f/0"), two.assignment.at("x/f/1"));
}

TEST(PlacementTest, WeightedRandomFollowsTheWeights) {
  std::vector<PlacementNode> nodes{Node("a"), Node("b")};
  nodes[0].weight = 1;
  nodes[1].weight = 3;
  std::mt19937_64 rng(42);
  PlacementState state;
  state.policy = PlacementPolicy::kWeightedRandom;
  state.rng = &rng;
  std::map<std::string, int64_t> counts;
  int on_b = 0;
  for (int i = 0; i < 400; ++i) {
    PlacementResult r = Place("wf", {Fn("f")}, {}, nodes, counts, &state);
    on_b += r.assignment.at("wf/f/0") == "b";
  }
  EXPECT_GT(on_b, 250);  // 300 expected
  EXPECT_LT(on_b, 350);
  EXPECT_EQ(ParsePlacementPolicy("weighted-random").value(), PlacementPolicy::kWeightedRandom);
  EXPECT_EQ(ParsePlacementPolicy("spread").status().code(), Code::kInvalidArgument);
}

TEST(PlacementTest, LabelsMustAllMatch) {
  std::vector<PlacementNode> nodes{Node("a", {{"zone", "us"}}),
                                   Node("b", {{"zone", "eu"}, {"gpu", "1"}})};
  PlacementResult r = PlaceFresh({Fn("f", 1, {}, {{"zone", "eu"}, {"gpu", std::nullopt}})}, nodes);
  EXPECT_TRUE(r.complete());
  EXPECT_EQ(r.assignment.at("wf/f/0"), "b");
}

TEST(PlacementTest, UnmetLabelIsTheReason) {
  std::vector<PlacementNode> nodes{Node("a", {{"zone", "us"}})};
  PlacementResult r = PlaceFresh({Fn("parse", 1, {}, {{"zone", "eu"}})}, nodes);
  ASSERT_FALSE(r.complete());
  EXPECT_EQ(r.assignment.at("wf/parse/0"), "");
  EXPECT_EQ(r.reasons[0], "functions \"parse\": no live node has label zone=eu");
}

TEST(PlacementTest, NodeIdsAndTheirReason) {
  std::vector<PlacementNode> nodes{Node("a"), Node("b"), Node("c", {}, false)};
  PlacementResult ok = PlaceFresh({Fn("f", 1, {"b", "x"})}, nodes);
  EXPECT_EQ(ok.assignment.at("wf/f/0"), "b");
  PlacementResult down = PlaceFresh({Fn("f", 1, {"c"})}, nodes);
  ASSERT_FALSE(down.complete());
  EXPECT_NE(down.reasons[0].find("node_id_match_any (c)"), std::string::npos) << down.reasons[0];
  PlacementResult none = PlaceFresh({Fn("f")}, {Node("a", {}, false)});
  EXPECT_EQ(none.reasons[0], "functions \"f\": no live node");
}

TEST(PlacementTest, LabelsEachMetButNotTogether) {
  std::vector<PlacementNode> nodes{Node("a", {{"zone", "eu"}}), Node("b", {{"gpu", "1"}})};
  PlacementResult r = PlaceFresh({Fn("f", 1, {}, {{"zone", "eu"}, {"gpu", std::nullopt}})}, nodes);
  ASSERT_FALSE(r.complete());
  EXPECT_EQ(r.reasons[0], "functions \"f\": no live node has all the labels zone=eu, gpu");
}

TEST(PlacementTest, SpreadsOverDistinctNodesThenShares) {
  std::vector<PlacementNode> nodes{Node("a"), Node("b"), Node("c")};
  PlacementResult r = PlaceFresh({Fn("f", 3)}, nodes);
  std::set<std::string> used;
  for (const auto& [id, node] : r.assignment) used.insert(node);
  EXPECT_EQ(used, (std::set<std::string>{"a", "b", "c"}));

  PlacementResult shared = PlaceFresh({Fn("f", 4)}, {Node("a"), Node("b")});
  std::map<std::string, int> per;
  for (const auto& [id, node] : shared.assignment) ++per[node];
  EXPECT_EQ(per["a"], 2);
  EXPECT_EQ(per["b"], 2);
}

TEST(PlacementTest, PrefersFewerInstancesThenLowerLoad) {
  std::vector<PlacementNode> nodes{Node("a", {}, true, 0), Node("b", {}, true, 5),
                                   Node("c", {}, true, 1)};
  std::map<std::string, int64_t> counts{{"a", 3}};
  PlacementResult r = Place("wf", {Fn("f")}, {}, nodes, counts);
  EXPECT_EQ(r.assignment.at("wf/f/0"), "c");  // b and c have none; c is less loaded
  EXPECT_EQ(counts["c"], 1);
}

TEST(PlacementTest, StableWhileTheNodeIsUpAndEligible) {
  std::vector<PlacementNode> nodes{Node("a"), Node("b")};
  // "b" is busier, but what is placed stays.
  std::map<std::string, std::string> current{{"wf/f/0", "b"}};
  std::map<std::string, int64_t> counts{{"b", 10}};
  PlacementResult r = Place("wf", {Fn("f")}, current, nodes, counts);
  EXPECT_EQ(r.assignment.at("wf/f/0"), "b");
  EXPECT_EQ(counts["b"], 10);
}

TEST(PlacementTest, MovesOffDownAndNoLongerEligibleNodes) {
  std::vector<PlacementNode> nodes{Node("a", {}, false), Node("b", {{"zone", "us"}}),
                                   Node("c", {{"zone", "eu"}})};
  std::map<std::string, std::string> current{{"wf/f/0", "a"}, {"wf/g/0", "b"}};
  PlacementResult r = PlaceFresh(
      {Fn("f", 1, {}, {{"zone", "eu"}}), Fn("g", 1, {}, {{"zone", "eu"}})}, nodes, current);
  EXPECT_EQ(r.assignment.at("wf/f/0"), "c");
  EXPECT_EQ(r.assignment.at("wf/g/0"), "c");
}

TEST(PlacementTest, BlockedComponentsStayUnplaced) {
  PlacementDemand d = Fn("f");
  d.blocked = "function \"x\" is not deployed";
  PlacementResult r = PlaceFresh({d}, {Node("a")}, {{"wf/f/0", "a"}});
  EXPECT_EQ(r.assignment.at("wf/f/0"), "");
  EXPECT_EQ(r.reasons[0], "functions \"f\": function \"x\" is not deployed");
}

TEST(PlacementTest, ResourcesAreOneInstance) {
  WorkflowSpec spec;
  FunctionSpec f;
  f.name = "f";
  f.function = "fn";
  f.max_instances = 2;
  spec.functions.push_back(f);
  ResourceSpec in;
  in.name = "in";
  in.class_type = "http-ingress";
  spec.resources.push_back(in);
  std::vector<PlacementDemand> d = DemandsOf(spec);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].instances, 2);
  EXPECT_EQ(d[1].kind, "resources");
  EXPECT_EQ(d[1].instances, 1);
  PlacementResult r = PlaceFresh(d, {Node("a")});
  EXPECT_EQ(r.assignment.size(), 3u);
  EXPECT_EQ(r.assignment.at("wf/in/0"), "a");
}

}  // namespace
}  // namespace aether::control
