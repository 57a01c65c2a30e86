#include "control/domains/domain_mapping.h"

#include <gtest/gtest.h>

namespace aether::control {
namespace {

using Assignment = std::map<std::string, std::string>;

// An up domain with one node ("<id>-n1", `labels`), running every class.
MappingDomain Domain(std::string id, int64_t free_capacity = 0,
                     std::map<std::string, std::string> labels = {}) {
  MappingDomain d;
  d.nodes.push_back({id + "-n1", std::move(labels)});
  d.id = std::move(id);
  d.up = true;
  d.resource_classes = {"file-log", "http-egress", "http-ingress", "kv", "redis", "timer"};
  d.free_capacity = free_capacity;
  return d;
}

MappingDomain Cordoned(std::string id, int64_t free_capacity = 0) {
  MappingDomain d = Domain(std::move(id), free_capacity);
  d.cordoned = true;
  return d;
}

MappingDomain Draining(std::string id, int64_t free_capacity = 0) {
  MappingDomain d = Domain(std::move(id), free_capacity);
  d.draining = true;
  return d;
}

MappingDomain Down(std::string id, int64_t free_capacity = 0) {
  MappingDomain d = Domain(std::move(id), free_capacity);
  d.up = false;
  return d;
}

FunctionSpec Fn(std::string name, std::map<std::string, std::string> outputs = {}) {
  FunctionSpec f;
  f.name = std::move(name);
  f.function = "fn";
  f.output_mapping = std::move(outputs);
  return f;
}

ResourceSpec Res(std::string name, std::string class_type,
                 std::map<std::string, std::string> outputs = {}) {
  ResourceSpec r;
  r.name = std::move(name);
  r.class_type = std::move(class_type);
  r.output_mapping = std::move(outputs);
  return r;
}

WorkflowSpec Spec(std::vector<FunctionSpec> functions, std::vector<ResourceSpec> resources = {},
                  DomainAffinity domains = DomainAffinity::kSpread) {
  WorkflowSpec s;
  s.functions = std::move(functions);
  s.resources = std::move(resources);
  s.domains = domains;
  return s;
}

WorkflowSpec Together(std::vector<FunctionSpec> functions,
                      std::vector<ResourceSpec> resources = {}) {
  return Spec(std::move(functions), std::move(resources), DomainAffinity::kTogether);
}

// ---- spread -------------------------------------------------------------

TEST(DomainMappingTest, NewComponentsGoToTheMostFreeCapacityThenTheSmallestId) {
  MappingResult r = MapToDomains(Spec({Fn("f")}), {}, {Domain("a", 5), Domain("b", 10)});
  EXPECT_TRUE(r.complete());
  EXPECT_EQ(r.assignment, (Assignment{{"f", "b"}}));
  MappingResult tie = MapToDomains(Spec({Fn("f")}), {}, {Domain("b", 3), Domain("a", 3)});
  EXPECT_EQ(tie.assignment, (Assignment{{"f", "a"}}));
}

TEST(DomainMappingTest, StableWhileTheDomainIsUpAndCanHost) {
  // "a" has less room, but what is mapped stays.
  MappingResult r = MapToDomains(Spec({Fn("f")}), {{"f", "a"}}, {Domain("a", 1), Domain("b", 100)});
  EXPECT_TRUE(r.complete());
  EXPECT_EQ(r.assignment.at("f"), "a");
}

TEST(DomainMappingTest, MovesOffDownGoneAndUnfitDomains) {
  WorkflowSpec spec = Spec({Fn("f"), Fn("g"), Fn("h")});
  spec.functions[2].label_match_all = {{"zone", "eu"}};
  std::vector<MappingDomain> domains{Down("a", 50), Domain("b", 1, {{"zone", "us"}}),
                                     Domain("c", 2, {{"zone", "eu"}})};
  MappingResult r = MapToDomains(spec, {{"f", "a"}, {"g", "gone"}, {"h", "b"}}, domains);
  EXPECT_TRUE(r.complete());
  EXPECT_EQ(r.assignment, (Assignment{{"f", "c"}, {"g", "c"}, {"h", "c"}}));
}

TEST(DomainMappingTest, ACordonedDomainKeepsWhatItHasAndTakesNothingNew) {
  std::vector<MappingDomain> domains{Cordoned("a", 100), Domain("b", 1)};
  MappingResult r = MapToDomains(Spec({Fn("f"), Fn("g")}), {{"f", "a"}}, domains);
  EXPECT_TRUE(r.complete());
  EXPECT_EQ(r.assignment, (Assignment{{"f", "a"}, {"g", "b"}}));
}

TEST(DomainMappingTest, ADrainingDomainsComponentsMoveAwayOrStayWithNowhereToGo) {
  MappingResult moved =
      MapToDomains(Spec({Fn("f")}), {{"f", "a"}}, {Draining("a", 100), Domain("b", 1)});
  EXPECT_TRUE(moved.complete());
  EXPECT_EQ(moved.assignment.at("f"), "b");
  // "b" cannot host it: it stays where it runs.
  WorkflowSpec spec = Spec({Fn("f")});
  spec.functions[0].domain_match_any = {"a"};
  MappingResult stuck = MapToDomains(spec, {{"f", "a"}}, {Draining("a"), Domain("b")});
  EXPECT_TRUE(stuck.complete());
  EXPECT_EQ(stuck.assignment.at("f"), "a");
  // A cordoned domain does not take it either.
  MappingResult cordoned =
      MapToDomains(Spec({Fn("f")}), {{"f", "a"}}, {Draining("a"), Cordoned("b")});
  EXPECT_EQ(cordoned.assignment.at("f"), "a");
}

TEST(DomainMappingTest, SpreadPrefersTheDomainOfItsNeighbours) {
  // in -> parse -> log; parse is in "a", the smaller domain.
  WorkflowSpec spec =
      Spec({Fn("parse", {{"out", "log"}}), Fn("other")},
           {Res("in", "http-ingress", {{"new_request", "parse"}}), Res("log", "file-log")});
  std::vector<MappingDomain> domains{Domain("a", 1), Domain("b", 10)};
  MappingResult r = MapToDomains(spec, {{"parse", "a"}}, domains);
  EXPECT_TRUE(r.complete());
  // Both directions count: "in" maps to parse, parse maps to "log".
  EXPECT_EQ(r.assignment, (Assignment{{"parse", "a"}, {"other", "b"}, {"in", "a"}, {"log", "a"}}));
}

TEST(DomainMappingTest, SpreadCountsNeighboursMappedEarlierInThePass) {
  // f -> g -> h; h stays in "a", the smaller domain. g (next to h) is
  // mapped before f, though f comes first in the spec, and f then follows
  // g: neighbours come before capacity.
  std::vector<MappingDomain> domains{Domain("a", 1), Domain("b", 10)};
  WorkflowSpec spec = Spec({Fn("f", {{"o", "g"}}), Fn("g", {{"o", "h"}}), Fn("h")});
  MappingResult r = MapToDomains(spec, {{"h", "a"}}, domains);
  EXPECT_EQ(r.assignment, (Assignment{{"f", "a"}, {"g", "a"}, {"h", "a"}}));
  // Nothing mapped: f takes the most room, and the others follow it.
  EXPECT_EQ(MapToDomains(spec, {}, domains).assignment,
            (Assignment{{"f", "b"}, {"g", "b"}, {"h", "b"}}));
  // The most neighbours win: g has f in "b" and h, i in "a".
  WorkflowSpec star =
      Spec({Fn("f", {{"o", "g"}}), Fn("g", {{"o", "h"}, {"p", "i"}}), Fn("h"), Fn("i")});
  MappingResult s = MapToDomains(star, {{"f", "b"}, {"h", "a"}, {"i", "a"}}, domains);
  EXPECT_EQ(s.assignment.at("g"), "a");
}

TEST(DomainMappingTest, DomainMatchAnyRestricts) {
  WorkflowSpec spec = Spec({Fn("f")});
  spec.functions[0].domain_match_any = {"a", "c"};
  MappingResult r = MapToDomains(spec, {}, {Domain("a", 1), Domain("b", 9), Domain("c", 2)});
  EXPECT_EQ(r.assignment.at("f"), "c");
  // Moved off a domain no longer listed.
  MappingResult moved = MapToDomains(spec, {{"f", "b"}}, {Domain("a"), Domain("b")});
  EXPECT_EQ(moved.assignment.at("f"), "a");
  MappingResult none = MapToDomains(spec, {}, {Down("a"), Domain("b")});
  ASSERT_FALSE(none.complete());
  EXPECT_EQ(none.assignment.at("f"), "");
  EXPECT_EQ(
      none.reasons,
      (std::vector<std::string>{"functions \"f\": domain_match_any [a, c]: no such domain is up"}));
}

TEST(DomainMappingTest, NodeIdsAndLabelsMustMeetOnOneNode) {
  WorkflowSpec spec = Spec({Fn("f")});
  spec.functions[0].label_match_all = {{"zone", "eu"}, {"gpu", std::nullopt}};
  MappingDomain split = Domain("a", 100, {{"zone", "eu"}});
  split.nodes.push_back({"a-n2", {{"gpu", "1"}}});
  MappingDomain one = Domain("b", 1, {{"zone", "eu"}, {"gpu", "0"}});
  MappingResult r = MapToDomains(spec, {}, {split, one});
  EXPECT_EQ(r.assignment.at("f"), "b");
  EXPECT_EQ(DomainUnfit(spec, "f", split), "no node has all the labels zone=eu, gpu");
  EXPECT_EQ(DomainUnfit(spec, "f", one), "");
  MappingResult none = MapToDomains(spec, {}, {split});
  EXPECT_EQ(none.reasons[0],
            "functions \"f\": no live domain has a node with all the labels zone=eu, gpu");

  // node_id_match_any picks the nodes the labels must be on.
  spec.functions[0].label_match_all = {{"gpu", std::nullopt}};
  spec.functions[0].node_id_match_any = {"a-n1", "b-n1"};
  EXPECT_EQ(DomainUnfit(spec, "f", split),
            "no node in node_id_match_any [a-n1, b-n1] has label gpu");
  EXPECT_EQ(MapToDomains(spec, {}, {split, one}).assignment.at("f"), "b");
  spec.functions[0].node_id_match_any = {"x"};
  EXPECT_EQ(DomainUnfit(spec, "f", split), "has no node in node_id_match_any [x]");
  EXPECT_EQ(MapToDomains(spec, {}, {split, one}).reasons[0],
            "functions \"f\": no live domain has a node in node_id_match_any [x]");
}

TEST(DomainMappingTest, ResourcesNeedTheirClass) {
  WorkflowSpec spec = Spec({Fn("f")}, {Res("in", "http-ingress", {{"new_request", "f"}})});
  MappingDomain plain = Domain("a", 100);
  plain.resource_classes = {"kv"};
  MappingResult r = MapToDomains(spec, {}, {plain, Domain("b", 1)});
  EXPECT_TRUE(r.complete());
  // f takes the most room; "in" follows its class, not its neighbour.
  EXPECT_EQ(r.assignment, (Assignment{{"f", "a"}, {"in", "b"}}));
  EXPECT_EQ(DomainUnfit(spec, "in", plain), "does not run class http-ingress");
  EXPECT_EQ(DomainUnfit(spec, "f", plain), "");  // functions have no class
  MappingResult none = MapToDomains(spec, {}, {plain});
  EXPECT_EQ(none.assignment, (Assignment{{"f", "a"}, {"in", ""}}));
  EXPECT_EQ(none.reasons,
            (std::vector<std::string>{"resources \"in\": no live domain runs class http-ingress"}));
}

TEST(DomainMappingTest, ReasonsNameTheComponentAndTheFirstUnmetRequirement) {
  WorkflowSpec spec = Spec({Fn("parse"), Fn("ok")}, {Res("log", "file-log")});
  spec.functions[0].label_match_all = {{"zone", "eu"}};
  spec.resources[0].domain_match_any = {"z"};
  spec.resources[0].label_match_all = {{"zone", "eu"}};
  MappingResult r = MapToDomains(spec, {}, {Domain("a", 0, {{"zone", "us"}})});
  EXPECT_EQ(r.assignment, (Assignment{{"parse", ""}, {"ok", "a"}, {"log", ""}}));
  // One per unmapped component, in spec order; domain_match_any is named
  // before the label.
  EXPECT_EQ(r.reasons, (std::vector<std::string>{
                           "functions \"parse\": no live domain has a node with label zone=eu",
                           "resources \"log\": domain_match_any [z]: no such domain is up"}));
  // Each domain meets some requirements, none all: what each lacks (those
  // outside domain_match_any left out).
  MappingDomain eu = Domain("b", 0, {{"zone", "eu"}});
  eu.resource_classes.clear();
  spec.resources[0].domain_match_any = {"a", "b"};
  EXPECT_EQ(
      MapToDomains(spec, {}, {Domain("a", 0, {{"zone", "us"}}), eu, Domain("c")}).reasons,
      (std::vector<std::string>{"resources \"log\": no live domain meets every requirement: a: "
                                "no node has label zone=eu; b: does not run class file-log"}));
  eu.resource_classes = {"file-log"};
  EXPECT_EQ(MapToDomains(spec, {}, {Domain("a", 0, {{"zone", "us"}}), eu}).assignment.at("log"),
            "b");
}

TEST(DomainMappingTest, ReasonsComeInSpecOrder) {
  // g (next to h, which stays) is tried before f; the reasons keep spec order.
  WorkflowSpec spec = Spec({Fn("f"), Fn("g", {{"o", "h"}}), Fn("h")});
  spec.functions[0].label_match_all = {{"x", std::nullopt}};
  spec.functions[1].label_match_all = {{"y", std::nullopt}};
  MappingResult r = MapToDomains(spec, {{"h", "a"}}, {Domain("a")});
  EXPECT_EQ(r.assignment, (Assignment{{"f", ""}, {"g", ""}, {"h", "a"}}));
  EXPECT_EQ(r.reasons,
            (std::vector<std::string>{"functions \"f\": no live domain has a node with label x",
                                      "functions \"g\": no live domain has a node with label y"}));
}

TEST(DomainMappingTest, NoLiveDomainAndDomainsWithoutNodes) {
  MappingResult none = MapToDomains(Spec({Fn("f")}, {Res("k", "kv")}), {}, {});
  EXPECT_EQ(none.assignment, (Assignment{{"f", ""}, {"k", ""}}));
  EXPECT_EQ(none.reasons, (std::vector<std::string>{"functions \"f\": no live domain",
                                                    "resources \"k\": no live domain"}));
  MappingResult down = MapToDomains(Spec({Fn("f")}), {{"f", "a"}}, {Down("a")});
  EXPECT_EQ(down.assignment.at("f"), "");
  EXPECT_EQ(down.reasons[0], "functions \"f\": no live domain");
  MappingDomain empty = Domain("a");
  empty.nodes.clear();
  EXPECT_EQ(DomainUnfit(Spec({Fn("f")}), "f", empty), "has no node that takes new instances");
  EXPECT_EQ(MapToDomains(Spec({Fn("f")}), {{"f", "a"}}, {empty}).reasons[0],
            "functions \"f\": no live domain has a node that takes new instances");
}

TEST(DomainMappingTest, OnlyClosedDomainsLeftIsTheReasonNamingThem) {
  WorkflowSpec spec = Spec({Fn("f")});
  spec.functions[0].domain_match_any = {"a", "b"};
  MappingResult r = MapToDomains(spec, {}, {Cordoned("a"), Draining("b"), Domain("c")});
  ASSERT_FALSE(r.complete());
  EXPECT_EQ(r.assignment.at("f"), "");
  EXPECT_EQ(r.reasons[0],
            "functions \"f\": every live domain that can host it takes no new components: a "
            "(cordoned), b (draining)");
}

TEST(DomainMappingTest, DomainUnfitFragments) {
  WorkflowSpec spec = Spec({Fn("f")});
  spec.functions[0].domain_match_any = {"x", "y"};
  EXPECT_EQ(DomainUnfit(spec, "f", Domain("a")), "not in domain_match_any [x, y]");
  EXPECT_EQ(DomainUnfit(spec, "f", Domain("x")), "");
  spec.functions[0].label_match_all = {{"zone", "eu"}};
  EXPECT_EQ(DomainUnfit(spec, "f", Domain("x", 0, {{"zone", "us"}})), "no node has label zone=eu");
  EXPECT_EQ(DomainUnfit(spec, "f", Domain("x", 0, {{"zone", "eu"}})), "");
  // Liveness and cordons are not its business.
  EXPECT_EQ(DomainUnfit(spec, "f", Down("x")), "no node has label zone=eu");
  MappingDomain closed = Cordoned("y");
  closed.nodes[0].labels = {{"zone", "eu"}};
  EXPECT_EQ(DomainUnfit(spec, "f", closed), "");
  // A label without a value only needs the key.
  spec.functions[0].label_match_all = {{"zone", std::nullopt}};
  EXPECT_EQ(DomainUnfit(spec, "f", Domain("x", 0, {{"zone", "us"}})), "");
  EXPECT_EQ(DomainUnfit(spec, "nope", Domain("x")), "no component \"nope\" in the workflow");
}

// ---- together -----------------------------------------------------------

TEST(DomainMappingTest, TogetherPutsEverythingInOneDomain) {
  WorkflowSpec spec = Together({Fn("f"), Fn("g")}, {Res("k", "kv")});
  spec.functions[1].label_match_all = {{"zone", "eu"}};
  // "a" is the largest but cannot host g.
  std::vector<MappingDomain> domains{Domain("a", 100), Domain("b", 1, {{"zone", "eu"}}),
                                     Domain("c", 5, {{"zone", "eu"}})};
  MappingResult r = MapToDomains(spec, {}, domains);
  EXPECT_TRUE(r.complete());
  EXPECT_EQ(r.assignment, (Assignment{{"f", "c"}, {"g", "c"}, {"k", "c"}}));
}

TEST(DomainMappingTest, TogetherKeepsItsDomainEvenCordoned) {
  WorkflowSpec spec = Together({Fn("f"), Fn("g")});
  Assignment in_a{{"f", "a"}, {"g", "a"}};
  EXPECT_EQ(MapToDomains(spec, in_a, {Domain("a", 1), Domain("b", 9)}).assignment, in_a);
  EXPECT_EQ(MapToDomains(spec, in_a, {Cordoned("a", 1), Domain("b", 9)}).assignment, in_a);
  // Draining: all move to one that takes them all, or stay with none.
  EXPECT_EQ(MapToDomains(spec, in_a, {Draining("a", 9), Domain("b", 1)}).assignment,
            (Assignment{{"f", "b"}, {"g", "b"}}));
  MappingResult stuck = MapToDomains(spec, in_a, {Draining("a"), Cordoned("b")});
  EXPECT_TRUE(stuck.complete());
  EXPECT_EQ(stuck.assignment, in_a);
  // Down: all move.
  EXPECT_EQ(MapToDomains(spec, in_a, {Down("a", 9), Domain("b", 1)}).assignment,
            (Assignment{{"f", "b"}, {"g", "b"}}));
}

TEST(DomainMappingTest, TogetherAddsNothingToACordonedDomain) {
  // A new component cannot join the others in a cordoned domain, and no
  // other domain takes them all: the new one waits, the others run on.
  WorkflowSpec spec = Together({Fn("f"), Fn("g")});
  spec.functions[0].domain_match_any = {"a"};
  MappingResult r = MapToDomains(spec, {{"f", "a"}}, {Cordoned("a"), Domain("b")});
  EXPECT_EQ(r.assignment, (Assignment{{"f", "a"}, {"g", ""}}));
  EXPECT_EQ(r.reasons, (std::vector<std::string>{
                           "functions \"g\": the workflow's domain a is cordoned and takes no new "
                           "components, and no other can host them all (annotations.domains = "
                           "together)"}));
  // With a domain that takes them all, they all go there.
  spec.functions[0].domain_match_any.clear();
  EXPECT_EQ(MapToDomains(spec, {{"f", "a"}}, {Cordoned("a"), Domain("b")}).assignment,
            (Assignment{{"f", "b"}, {"g", "b"}}));
  // Nothing new: they stay in the cordoned domain.
  EXPECT_EQ(MapToDomains(spec, {{"f", "a"}, {"g", "a"}}, {Cordoned("a"), Domain("b")}).assignment,
            (Assignment{{"f", "a"}, {"g", "a"}}));
}

TEST(DomainMappingTest, TogetherGathersWhereMostComponentsAre) {
  WorkflowSpec spec = Together({Fn("f"), Fn("g"), Fn("h")});
  // Spread over a and b (as after switching from spread): b holds two.
  std::vector<MappingDomain> domains{Domain("a", 9), Domain("b", 1), Domain("c", 50)};
  MappingResult r = MapToDomains(spec, {{"f", "a"}, {"g", "b"}, {"h", "b"}}, domains);
  EXPECT_EQ(r.assignment, (Assignment{{"f", "b"}, {"g", "b"}, {"h", "b"}}));
  // A new component joins the others' domain.
  MappingResult added = MapToDomains(spec, {{"f", "a"}, {"g", "a"}}, domains);
  EXPECT_EQ(added.assignment, (Assignment{{"f", "a"}, {"g", "a"}, {"h", "a"}}));
  // Equal holdings: free capacity, then the id.
  MappingResult tie = MapToDomains(spec, {{"f", "a"}, {"g", "b"}}, domains);
  EXPECT_EQ(tie.assignment.at("f"), "a");
  domains[1].free_capacity = 9;
  EXPECT_EQ(MapToDomains(spec, {{"f", "b"}, {"g", "a"}}, domains).assignment.at("h"), "a");
}

TEST(DomainMappingTest, TogetherWithNoDomainForAllIsOneReason) {
  WorkflowSpec spec = Together({Fn("parse"), Fn("g")}, {Res("in", "http-ingress")});
  spec.resources[0].output_mapping = {{"new_request", "parse"}};
  spec.functions[0].label_match_all = {{"zone", "eu"}};
  MappingDomain plain = Domain("a", 0, {{"zone", "eu"}});
  plain.resource_classes = {"kv"};
  MappingDomain b = Domain("b", 0, {{"zone", "us"}});
  // Each component has a domain, but none hosts all: every one unmapped,
  // and the reason says what each domain lacks.
  MappingResult r = MapToDomains(spec, {{"g", "b"}}, {b, plain});
  EXPECT_EQ(r.assignment, (Assignment{{"parse", ""}, {"g", ""}, {"in", ""}}));
  EXPECT_EQ(r.reasons, (std::vector<std::string>{
                           "no live domain can host every component (annotations.domains = "
                           "together): a cannot host resources \"in\" (does not run class "
                           "http-ingress); b cannot host functions \"parse\" (no node has label "
                           "zone=eu)"}));
  // A component no live domain can host is named alone.
  MappingResult one = MapToDomains(spec, {}, {b, Down("c")});
  EXPECT_EQ(one.reasons,
            (std::vector<std::string>{
                "no live domain can host every component (annotations.domains = together): "
                "functions \"parse\": no live domain has a node with label zone=eu"}));
  EXPECT_EQ(MapToDomains(spec, {}, {}).reasons,
            (std::vector<std::string>{"no live domain (annotations.domains = together)"}));
  // The only domain that hosts all takes nothing new.
  MappingDomain closed = Cordoned("c");
  closed.nodes[0].labels = {{"zone", "eu"}};
  MappingResult shut = MapToDomains(spec, {}, {b, closed});
  EXPECT_EQ(shut.assignment, (Assignment{{"parse", ""}, {"g", ""}, {"in", ""}}));
  EXPECT_EQ(shut.reasons,
            (std::vector<std::string>{"every live domain that can host every component takes no "
                                      "new components (annotations.domains = together): c "
                                      "(cordoned)"}));
}

TEST(DomainMappingTest, TogetherReasonListsAFewDomains) {
  WorkflowSpec spec = Together({Fn("f"), Fn("g")});
  spec.functions[0].label_match_all = {{"x", std::nullopt}};
  spec.functions[1].label_match_all = {{"y", std::nullopt}};
  std::vector<MappingDomain> domains;
  for (const char* id : {"d6", "d5", "d4", "d3", "d2"})
    domains.push_back(Domain(id, 0, {{"y", ""}}));
  domains.push_back(Domain("d1", 0, {{"x", ""}}));
  MappingResult r = MapToDomains(spec, {}, domains);
  ASSERT_EQ(r.reasons.size(), 1u);
  EXPECT_EQ(r.reasons[0],
            "no live domain can host every component (annotations.domains = together): d1 cannot "
            "host functions \"g\" (no node has label y); d2 cannot host functions \"f\" (no node "
            "has label x); d3 cannot host functions \"f\" (no node has label x); d4 cannot host "
            "functions \"f\" (no node has label x); and 2 more");
}

}  // namespace
}  // namespace aether::control
