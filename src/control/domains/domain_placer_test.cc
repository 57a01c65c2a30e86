#include "control/domains/domain_placer.h"

#include <gtest/gtest.h>

namespace aether::control {
namespace {

DomainStatus Domain(const std::string& id, const std::string& zone, bool up = true) {
  DomainStatus d;
  d.reg = {id, "http://" + id + ":9090", {}};
  d.up = up;
  d.capabilities.nodes = {{id + "-n1", {{"zone", zone}}}};
  d.capabilities.nodes_up = 1;
  d.capabilities.resource_classes = {"http-ingress", "file-log"};
  d.capabilities.free_workers = 2;
  return d;
}

WorkflowSpec Spec(std::string_view json) {
  Result<WorkflowSpec> s = ParseWorkflowSpec(json);
  EXPECT_TRUE(s.ok()) << s.status().message();
  return s.ok() ? *s : WorkflowSpec{};
}

const std::map<std::string, std::string> kShas{{"echo", std::string(64, 'a')}};

TEST(DomainPlacerTest, EveryInstanceOfAComponentGoesToItsDomain) {
  WorkflowSpec spec = Spec(R"({"functions": [{"name": "e", "function": "echo",
      "annotations": {"max_instances": 2, "label_match_all": ["zone=b"]}}],
      "resources": [{"name": "in", "class_type": "http-ingress",
                     "output_mapping": {"new_request": "e"}}]})");
  DomainPlacement p = MapWorkflow("w", spec, {}, kShas, {Domain("a", "a"), Domain("b", "b")});
  EXPECT_EQ(p.reason, "");
  ASSERT_EQ(p.placement.size(), 3u);
  for (const char* i : {"w/e/0", "w/e/1", "w/in/0"}) {
    EXPECT_EQ(p.placement[i].node_id, "b") << i;
    EXPECT_EQ(p.placement[i].url, "http://b:9090") << i;
  }
  EXPECT_EQ(p.placement["w/e/1"].sha256, std::string(64, 'a'));
  EXPECT_EQ(p.placement["w/in/0"].sha256, "");
  // Stable: it stays while b can host it, even when a would too.
  std::map<std::string, std::string> current{{"w/e/0", "b"}, {"w/e/1", "b"}, {"w/in/0", "b"}};
  WorkflowSpec anywhere = Spec(R"({"functions": [{"name": "e", "function": "echo"}],
      "resources": [{"name": "in", "class_type": "http-ingress",
                     "output_mapping": {"new_request": "e"}}]})");
  EXPECT_EQ(MapWorkflow("w", anywhere, current, kShas, {Domain("a", "a"), Domain("b", "b")})
                .placement["w/e/0"]
                .node_id,
            "b");
  // b down: everything moves to a.
  DomainPlacement moved =
      MapWorkflow("w", anywhere, current, kShas, {Domain("a", "a"), Domain("b", "b", false)});
  EXPECT_EQ(moved.placement["w/e/0"].node_id, "a");
  EXPECT_EQ(moved.placement["w/in/0"].node_id, "a");
}

TEST(DomainPlacerTest, UndeployedFunctionsAndSplitsWaitWithAReason) {
  WorkflowSpec spec = Spec(R"({"functions": [{"name": "e", "function": "gone"}]})");
  DomainPlacement p = MapWorkflow("w", spec, {}, kShas, {Domain("a", "a")});
  EXPECT_EQ(p.placement["w/e/0"].node_id, "");
  EXPECT_EQ(p.reason, "functions \"e\": function \"gone\" is not deployed");

  WorkflowSpec split = Spec(R"({"functions": [
      {"name": "f", "function": "echo", "output_mapping": {"out": "g"},
       "annotations": {"domain_match_any": ["a"]}},
      {"name": "g", "function": "echo", "annotations": {"domain_match_any": ["b"]}}]})");
  DomainPlacement s = MapWorkflow("w", split, {}, kShas, {Domain("a", "a"), Domain("b", "b")});
  EXPECT_EQ(s.placement["w/f/0"].node_id, "");
  EXPECT_EQ(s.placement["w/g/0"].node_id, "");
  EXPECT_NE(s.reason.find("\"f\" (domain a) sends out to \"g\" (domain b)"), std::string::npos)
      << s.reason;
  // Unconnected components may live apart.
  WorkflowSpec apart = Spec(R"({"functions": [
      {"name": "f", "function": "echo", "annotations": {"domain_match_any": ["a"]}},
      {"name": "g", "function": "echo", "annotations": {"domain_match_any": ["b"]}}]})");
  DomainPlacement ok = MapWorkflow("w", apart, {}, kShas, {Domain("a", "a"), Domain("b", "b")});
  EXPECT_EQ(ok.reason, "");
  EXPECT_EQ(ok.placement["w/f/0"].node_id, "a");
  EXPECT_EQ(ok.placement["w/g/0"].node_id, "b");
}

TEST(DomainPlacerTest, ADomainsPartKeepsItsComponentsAndDropsTheDomainAnnotations) {
  WorkflowSpec spec = Spec(R"({"annotations": {"domains": "spread", "team": "x"},
      "functions": [
      {"name": "f", "function": "echo", "annotations": {"domain_match_any": ["a"]}},
      {"name": "g", "function": "echo", "annotations": {"domain_match_any": ["b"],
                                                         "label_match_all": ["zone=b"]}}]})");
  DomainPlacement p = MapWorkflow("w", spec, {}, kShas, {Domain("a", "a"), Domain("b", "b")});
  std::optional<WorkflowSpec> b = DomainPart(spec, p.placement, "w", "b");
  ASSERT_TRUE(b.has_value());
  ASSERT_EQ(b->functions.size(), 1u);
  EXPECT_EQ(b->functions[0].name, "g");
  EXPECT_TRUE(b->functions[0].domain_match_any.empty());
  EXPECT_EQ(b->functions[0].label_match_all.size(), 1u);  // the domain places by it
  EXPECT_FALSE(b->annotations.contains("domains"));
  EXPECT_EQ(b->annotations.at("team"), "x");
  // What a domain takes parses there as it is.
  EXPECT_TRUE(ParseWorkflowSpec(SerializeWorkflowSpec(*b)).ok());
  EXPECT_FALSE(DomainPart(spec, p.placement, "w", "c").has_value());
  EXPECT_FALSE(DomainPart(spec, p.placement, "other", "b").has_value());
}

}  // namespace
}  // namespace aether::control
