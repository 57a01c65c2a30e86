#include "control/domains/domain_placer.h"

#include <gtest/gtest.h>

#include "common/node_credential.h"
#include "common/sha256.h"
#include "protocol/names.h"

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

TEST(DomainPlacerTest, UndeployedFunctionsWaitWithAReasonSplitsMap) {
  WorkflowSpec spec = Spec(R"({"functions": [{"name": "e", "function": "gone"}]})");
  DomainPlacement p = MapWorkflow("w", spec, {}, kShas, {Domain("a", "a")});
  EXPECT_EQ(p.placement["w/e/0"].node_id, "");
  EXPECT_EQ(p.reason, "functions \"e\": function \"gone\" is not deployed");

  // Joined components may live apart: the parts link them with portals.
  WorkflowSpec split = Spec(R"({"functions": [
      {"name": "f", "function": "echo", "output_mapping": {"out": "g"},
       "annotations": {"domain_match_any": ["a"]}},
      {"name": "g", "function": "echo", "annotations": {"domain_match_any": ["b"]}}]})");
  DomainPlacement s = MapWorkflow("w", split, {}, kShas, {Domain("a", "a"), Domain("b", "b")});
  EXPECT_EQ(s.reason, "");
  EXPECT_EQ(s.placement["w/f/0"].node_id, "a");
  EXPECT_EQ(s.placement["w/g/0"].node_id, "b");
}

TEST(DomainPlacerTest, PartsAcrossDomainsAreJoinedByPortals) {
  // in (a) -> f (a) -> g (b) -> log (a); f also calls h (b); g -> k (unmapped).
  WorkflowSpec spec = Spec(R"({"functions": [
      {"name": "f", "function": "echo", "output_mapping": {"out": "g", "ask": "h"},
       "annotations": {"domain_match_any": ["a"]}},
      {"name": "g", "function": "echo", "output_mapping": {"out": "log", "more": "k"},
       "annotations": {"domain_match_any": ["b"]}},
      {"name": "h", "function": "echo", "annotations": {"domain_match_any": ["b"]}},
      {"name": "k", "function": "gone"},
      {"name": "portal-g", "function": "echo", "annotations": {"domain_match_any": ["a"]}}],
      "resources": [
      {"name": "in", "class_type": "http-ingress", "output_mapping": {"new_request": "f"},
       "annotations": {"domain_match_any": ["a"]}},
      {"name": "log", "class_type": "file-log", "annotations": {"domain_match_any": ["a"]}}]})");
  DomainPlacement p = MapWorkflow("w", spec, {}, kShas, {Domain("a", "a"), Domain("b", "b")});
  std::optional<WorkflowSpec> a = DomainPart(spec, p.placement, "w", "a", "admin-secret");
  std::optional<WorkflowSpec> b = DomainPart(spec, p.placement, "w", "b", "admin-secret");
  ASSERT_TRUE(a.has_value() && b.has_value());
  auto find = [](const WorkflowSpec& part, const std::string& name) -> const ResourceSpec* {
    for (const ResourceSpec& r : part.resources) {
      if (r.name == name) return &r;
    }
    return nullptr;
  };
  // In a: f's outputs go to portals ("portal-g" is taken by the user's
  // component, so the generated one is numbered).
  ASSERT_EQ(a->functions.size(), 2u);
  EXPECT_EQ(a->functions[0].name, "f");
  EXPECT_EQ(a->functions[0].output_mapping.at("out"), "portal-g-2");
  EXPECT_EQ(a->functions[0].output_mapping.at("ask"), "portal-h");
  const ResourceSpec* to_g = find(*a, "portal-g-2");
  ASSERT_NE(to_g, nullptr);
  EXPECT_EQ(to_g->class_type, "portal");
  EXPECT_EQ(to_g->configurations.at("url"), "http://b:9090/wf/w/_portal/g");
  std::string token_g = PortalToken("admin-secret", "w", "g");
  EXPECT_EQ(to_g->configurations.at("token"), token_g);
  EXPECT_EQ(find(*a, "portal-h")->configurations.at("url"), "http://b:9090/wf/w/_portal/h");
  // a is reached from b (g -> log): a portal ingress for log.
  const ResourceSpec* in_log = find(*a, "portal-in-log");
  ASSERT_NE(in_log, nullptr);
  EXPECT_EQ(in_log->configurations.at("path"), "_portal/log");
  EXPECT_EQ(in_log->output_mapping.at("portal"), "log");
  // In b: ingresses for g and h (tokens by digest only), a portal back to
  // log, and the output to the unmapped k dropped.
  const ResourceSpec* in_g = find(*b, "portal-in-g");
  ASSERT_NE(in_g, nullptr);
  EXPECT_EQ(in_g->configurations.at("mode"), "portal");
  EXPECT_EQ(in_g->configurations.at("token_sha256"), Sha256Hex(token_g));
  EXPECT_EQ(in_g->configurations.count("token"), 0u);
  EXPECT_NE(find(*b, "portal-in-h"), nullptr);
  EXPECT_EQ(find(*b, "portal-log")->configurations.at("url"), "http://a:9090/wf/w/_portal/log");
  for (const FunctionSpec& f : b->functions) {
    if (f.name == "g") {
      EXPECT_EQ(f.output_mapping, (std::map<std::string, std::string>{{"out", "portal-log"}}));
    }
  }
  // Tokens differ per target component and per secret.
  EXPECT_NE(PortalToken("admin-secret", "w", "h"), token_g);
  EXPECT_NE(PortalToken("other", "w", "g"), token_g);
  // Both parts parse where they go (a domain takes portals); a user's spec
  // with the same resources is refused (workflow_spec_test.cc).
  SpecCheckHooks domain;
  domain.portals = true;
  for (const WorkflowSpec* part : {&*a, &*b}) {
    Result<WorkflowSpec> parsed = ParseWorkflowSpec(SerializeWorkflowSpec(*part), domain);
    ASSERT_TRUE(parsed.ok()) << parsed.status().message();
    EXPECT_EQ(*parsed, *part);
    EXPECT_FALSE(ParseWorkflowSpec(SerializeWorkflowSpec(*part)).ok());
  }
}

TEST(DomainPlacerTest, PortalNamesStayValidForLongComponentNames) {
  std::string longname(60, 'x');
  WorkflowSpec spec = Spec(R"({"functions": [
      {"name": "f", "function": "echo", "output_mapping": {"out": ")" +
                           longname + R"("},
       "annotations": {"domain_match_any": ["a"]}},
      {"name": ")" + longname +
                           R"(", "function": "echo",
       "annotations": {"domain_match_any": ["b"]}}]})");
  DomainPlacement p = MapWorkflow("w", spec, {}, kShas, {Domain("a", "a"), Domain("b", "b")});
  std::optional<WorkflowSpec> a = DomainPart(spec, p.placement, "w", "a", "s");
  std::optional<WorkflowSpec> b = DomainPart(spec, p.placement, "w", "b", "s");
  ASSERT_TRUE(a && b);
  ASSERT_EQ(a->resources.size(), 1u);
  ASSERT_EQ(b->resources.size(), 1u);
  EXPECT_TRUE(protocol::IsName(a->resources[0].name)) << a->resources[0].name;
  EXPECT_TRUE(protocol::IsName(b->resources[0].name)) << b->resources[0].name;
  SpecCheckHooks domain;
  domain.portals = true;
  EXPECT_TRUE(ParseWorkflowSpec(SerializeWorkflowSpec(*a), domain).ok());
  Result<WorkflowSpec> pb = ParseWorkflowSpec(SerializeWorkflowSpec(*b), domain);
  EXPECT_TRUE(pb.ok()) << pb.status().message();
}

TEST(DomainPlacerTest, ADomainsPartKeepsItsComponentsAndDropsTheDomainAnnotations) {
  WorkflowSpec spec = Spec(R"({"annotations": {"domains": "spread", "team": "x"},
      "functions": [
      {"name": "f", "function": "echo", "annotations": {"domain_match_any": ["a"]}},
      {"name": "g", "function": "echo", "annotations": {"domain_match_any": ["b"],
                                                         "label_match_all": ["zone=b"]}}]})");
  DomainPlacement p = MapWorkflow("w", spec, {}, kShas, {Domain("a", "a"), Domain("b", "b")});
  std::optional<WorkflowSpec> b = DomainPart(spec, p.placement, "w", "b", "s");
  ASSERT_TRUE(b.has_value());
  ASSERT_EQ(b->functions.size(), 1u);
  EXPECT_EQ(b->functions[0].name, "g");
  EXPECT_TRUE(b->functions[0].domain_match_any.empty());
  EXPECT_EQ(b->functions[0].label_match_all.size(), 1u);  // the domain places by it
  EXPECT_FALSE(b->annotations.contains("domains"));
  EXPECT_EQ(b->annotations.at("team"), "x");
  // What a domain takes parses there as it is.
  EXPECT_TRUE(ParseWorkflowSpec(SerializeWorkflowSpec(*b)).ok());
  EXPECT_FALSE(DomainPart(spec, p.placement, "w", "c", "s").has_value());
  EXPECT_FALSE(DomainPart(spec, p.placement, "other", "b", "s").has_value());
}

}  // namespace
}  // namespace aether::control
