#include "control/workflows/workflow_spec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <random>
#include <string>

namespace aether::control {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;

std::string Error(std::string_view spec, const SpecCheckHooks& hooks = {}) {
  Result<WorkflowSpec> r = ParseWorkflowSpec(spec, hooks);
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  return r.status().message();
}

WorkflowSpec Parse(std::string_view spec, const SpecCheckHooks& hooks = {}) {
  Result<WorkflowSpec> r = ParseWorkflowSpec(spec, hooks);
  EXPECT_TRUE(r.ok()) << r.status().message() << "\n" << spec;
  return r.ok() ? *r : WorkflowSpec{};
}

SpecCheckHooks Deployed() {
  return {[](const std::string& name) { return name == "parse" || name == "filter"; }};
}

// The pipeline of examples/pipeline, in Aether's field names.
constexpr std::string_view kPipeline = R"({
  "name": "pipeline",
  "functions": [
    {"name": "parse", "function": "parse", "output_mapping": {"out": "filter"},
     "annotations": {"max_instances": 2}},
    {"name": "filter", "function": "filter", "output_mapping": {"out": "log"},
     "annotations": {"init_payload": "{\"field\":\"amount\",\"min\":100}"}}
  ],
  "resources": [
    {"name": "ingress", "class_type": "http-ingress", "configurations": {"path": "orders"},
     "output_mapping": {"new_request": "parse"}},
    {"name": "log", "class_type": "file-log", "configurations": {"filename": "accepted.log"}}
  ],
  "annotations": {}
})";

TEST(WorkflowSpecTest, ParsesAetherForm) {
  WorkflowSpec s = Parse(kPipeline, Deployed());
  EXPECT_EQ(s.name, "pipeline");
  ASSERT_EQ(s.functions.size(), 2u);
  EXPECT_EQ(s.functions[0].name, "parse");
  EXPECT_EQ(s.functions[0].function, "parse");
  EXPECT_EQ(s.functions[0].max_instances, 2);
  EXPECT_EQ(s.functions[0].output_mapping, (std::map<std::string, std::string>{{"out", "filter"}}));
  EXPECT_EQ(s.functions[1].init_payload, R"({"field":"amount","min":100})");
  EXPECT_EQ(s.functions[1].max_instances, 1);
  ASSERT_EQ(s.resources.size(), 2u);
  EXPECT_EQ(s.resources[0].class_type, "http-ingress");
  EXPECT_EQ(s.resources[0].configurations, (ResourceConfigMap{{"path", "orders"}}));
  EXPECT_EQ(s.resources[1].output_mapping.size(), 0u);
}

TEST(WorkflowSpecTest, DeliveryMode) {
  EXPECT_EQ(Parse(kPipeline).delivery, protocol::Delivery::kAtMostOnce);
  std::string text(kPipeline);
  text.replace(text.rfind('}'), 1, R"(, "delivery": "at-least-once"})");
  WorkflowSpec s = Parse(text);
  EXPECT_EQ(s.delivery, protocol::Delivery::kAtLeastOnce);
  EXPECT_EQ(Parse(SerializeWorkflowSpec(s)), s);
  // The default is not written: specs stored before the field stay as they were.
  EXPECT_EQ(SerializeWorkflowSpec(Parse(kPipeline)).find("delivery"), std::string::npos);
  for (const char* bad : {R"("exactly-once")", "true", R"("")"}) {
    std::string t(kPipeline);
    t.replace(t.rfind('}'), 1, std::string(R"(, "delivery": )") + bad + "}");
    Result<WorkflowSpec> r = ParseWorkflowSpec(t);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_TRUE(r.status().message().starts_with("delivery: must be")) << r.status().message();
  }
}

TEST(WorkflowSpecTest, ParsesAllAnnotations) {
  WorkflowSpec s = Parse(R"({"functions": [
    {"name": "a", "function": "fa", "annotations": {
       "init_payload": {"k": [1, 2]}, "max_instances": 64, "memory_limit": "16MB",
       "node_id_match_any": ["n1", "n2", "n1"], "label_match_all": ["zone=eu", "gpu"]}},
    {"name": "b", "function": "fb", "annotations": {
       "memory_limit": "512KiB", "label_match_all": {"zone": "eu", "tier": 2},
       "node_id_match_any": "n1,n2"}},
    {"name": "c", "function": "fc", "annotations": {"memory_limit": 65536, "max_instances": "3",
       "label_match_all": "red,blue", "init_payload": 42}},
    {"name": "d", "function": "fd", "annotations": {"memory_limit": 0, "init_payload": null}}],
    "annotations": {"owner": "team-a", "n": 3, "o": {"x": 1}}})");
  ASSERT_EQ(s.functions.size(), 4u);
  const FunctionSpec& a = s.functions[0];
  EXPECT_EQ(a.init_payload, R"({"k":[1,2]})");
  EXPECT_EQ(a.max_instances, 64);
  EXPECT_EQ(a.memory_limit, 16u << 20);
  EXPECT_EQ(a.node_id_match_any, (std::vector<std::string>{"n1", "n2"}));
  EXPECT_EQ(a.label_match_all, (std::vector<LabelMatch>{{"zone", "eu"}, {"gpu", std::nullopt}}));
  const FunctionSpec& b = s.functions[1];
  EXPECT_EQ(b.memory_limit, 512u << 10);
  // In the order written: an object keeps its order in Boost.JSON.
  EXPECT_EQ(b.label_match_all, (std::vector<LabelMatch>{{"zone", "eu"}, {"tier", "2"}}));
  EXPECT_EQ(b.node_id_match_any, (std::vector<std::string>{"n1", "n2"}));
  const FunctionSpec& c = s.functions[2];
  EXPECT_EQ(c.memory_limit, 65536u);
  EXPECT_EQ(c.max_instances, 3);
  EXPECT_EQ(c.label_match_all,
            (std::vector<LabelMatch>{{"red", std::nullopt}, {"blue", std::nullopt}}));
  EXPECT_EQ(c.init_payload, "42");
  EXPECT_EQ(s.functions[3].memory_limit, 0u);
  EXPECT_EQ(s.functions[3].init_payload, "");
  EXPECT_EQ(s.annotations, (std::map<std::string, std::string>{
                               {"owner", "team-a"}, {"n", "3"}, {"o", R"({"x":1})"}}));
}

TEST(WorkflowSpecTest, ConfigurationScalarsBecomeText) {
  WorkflowSpec s = Parse(R"({"resources": [
    {"name": "t", "class_type": "timer", "configurations": {"period_ms": 250, "payload": "x"}},
    {"name": "f", "class_type": "file-log", "configurations": {"add-timestamp": true}}]})");
  EXPECT_EQ(s.resources[0].configurations.at("period_ms"), "250");
  EXPECT_EQ(s.resources[1].configurations.at("add-timestamp"), "true");
  EXPECT_EQ(Error(R"({"resources": [{"name": "t", "class_type": "timer",
                        "configurations": {"period_ms": 2.5}}]})")
                .rfind("resources[0].configurations.period_ms: must be a whole decimal number", 0),
            0u);
}

// examples/file_log/workflow.json and examples/ping_pong/workflow.json of
// github.com/edgeless-project/edgeless, verbatim but for the
// class_specification "code" paths, removed as `aether workflow apply` does
// once it has uploaded them; beside each, the same workflow in Aether's names.
constexpr std::string_view kEdgelessFileLog = R"({
    "functions": [
        {
            "name": "my-message-generator",
            "class_specification": {
                "id": "message_generator",
                "function_type": "RUST_WASM",
                "version": "0.1",
                "outputs": []
            },
            "output_mapping": {
                "output": "my-log"
            },
            "annotations": {
                "init-payload": "message=hello world,period=1000"
            }
        }
    ],
    "resources": [
        {
            "name": "my-log",
            "class_type": "file-log",
            "output_mapping": {},
            "configurations": {
                "filename": "my-local-file.log",
                "add-timestamp": "true"
            }
        }
    ],
    "annotations": {}
})";

constexpr std::string_view kAetherFileLog = R"({
  "functions": [{"name": "my-message-generator", "function": "message_generator",
                 "output_mapping": {"output": "my-log"},
                 "annotations": {"init_payload": "message=hello world,period=1000"}}],
  "resources": [{"name": "my-log", "class_type": "file-log",
                 "configurations": {"filename": "my-local-file.log", "add-timestamp": "true"}}]
})";

// EDGELESS annotations are all strings; node_id_match_any and
// label_match_all are comma lists there.
constexpr std::string_view kEdgelessPingPong = R"({
    "functions": [
        {
            "name": "ponger",
            "class_specification": {
                "id": "pong",
                "function_type": "RUST_WASM",
                "version": "0.1",
                "outputs": ["ping"]
            },
            "output_mapping": {"ping": "pinger"},
            "annotations": {}
        },
        {
            "name": "pinger",
            "class_specification": {
                "id": "ping",
                "function_type": "RUST_WASM",
                "version": "0.1",
                "outputs": ["ponger"]
            },
            "output_mapping": {"ponger": "ponger"},
            "annotations": {"max_instances": "2", "label_match_all": "red,blue",
                            "node_id_match_any": "node-a,node-b"}
        }
    ],
    "resources": [],
    "annotations": {}
})";

constexpr std::string_view kAetherPingPong = R"({
  "functions": [
    {"name": "ponger", "function": "pong", "output_mapping": {"ping": "pinger"}},
    {"name": "pinger", "function": "ping", "output_mapping": {"ponger": "ponger"},
     "annotations": {"max_instances": 2, "label_match_all": ["red", "blue"],
                     "node_id_match_any": ["node-a", "node-b"]}}]
})";

// A workflow using every annotation, in both spellings.
constexpr std::string_view kAetherOrders = R"({
  "name": "orders",
  "functions": [
    {"name": "parse", "function": "parse", "output_mapping": {"out": "filter"},
     "annotations": {"init_payload": {"mode": "strict"}, "max_instances": 3,
                     "node_id_match_any": ["n1", "n2"], "label_match_all": ["zone=eu", "gpu"],
                     "memory_limit": "32MB"}},
    {"name": "filter", "function": "filter", "output_mapping": {"out": "log"}}],
  "resources": [
    {"name": "ingress", "class_type": "http-ingress", "configurations": {"path": "orders"},
     "output_mapping": {"new_request": "parse"}},
    {"name": "log", "class_type": "file-log", "configurations": {"filename": "a.log"},
     "annotations": {"label_match_all": {"zone": "eu"}}}],
  "annotations": {"owner": "team-a"}})";

constexpr std::string_view kEdgelessOrders = R"({
  "name": "orders",
  "functions": [
    {"name": "parse",
     "class_specification": {"id": "parse", "function_type": "RUST_WASM", "version": "0.1",
                             "outputs": ["out"]},
     "output_mapping": {"out": "filter"},
     "annotations": {"init-payload": "{\"mode\":\"strict\"}", "max_instances": "3",
                     "node_id_match_any": "n1,n2", "label_match_all": "zone=eu,gpu",
                     "memory_limit": 33554432}},
    {"name": "filter", "class_specification": {"id": "filter", "function_type": "RUST_WASM",
                                               "outputs": ["out"]},
     "output_mapping": {"out": "log"}, "annotations": {}}],
  "resources": [
    {"name": "ingress", "class_type": "http-ingress",
     "configurations": {"path": "orders", "host": "demo.edgeless.com"},
     "output_mapping": {"new_request": "parse"}},
    {"name": "log", "class_type": "file-log",
     "configurations": {"filename": "a.log"},
     "annotations": {"label_match_all": ["zone=eu"]}}],
  "annotations": {"owner": "team-a"}})";

TEST(WorkflowSpecTest, EdgelessFormParsesToTheSameSpec) {
  WorkflowSpec edgeless = Parse(kEdgelessFileLog);
  EXPECT_EQ(edgeless, Parse(kAetherFileLog));
  EXPECT_EQ(edgeless.functions[0].function, "message_generator");
  EXPECT_EQ(edgeless.functions[0].init_payload, "message=hello world,period=1000");
  EXPECT_EQ(Parse(kEdgelessPingPong), Parse(kAetherPingPong));

  WorkflowSpec orders = Parse(kEdgelessOrders, Deployed());
  // The EDGELESS ingress has a "host" (checked, not used) and speaks
  // EDGELESS's HTTP JSON; otherwise equal.
  EXPECT_EQ(orders.resources[0].configurations.at("host"), "demo.edgeless.com");
  EXPECT_EQ(orders.resources[0].configurations.at("format"), "edgeless");
  orders.resources[0].configurations.erase("host");
  orders.resources[0].configurations.erase("format");
  EXPECT_EQ(orders, Parse(kAetherOrders, Deployed()));
  // One that says its format keeps it; an Aether-shaped spec gets none.
  std::string raw(kEdgelessOrders);
  raw.replace(raw.find(R"("host": )"), 0, R"("format": "raw", )");
  EXPECT_EQ(Parse(raw, Deployed()).resources[0].configurations.at("format"), "raw");
  EXPECT_FALSE(Parse(kAetherOrders, Deployed()).resources[0].configurations.contains("format"));
}

TEST(WorkflowSpecTest, EdgelessRedisCallsGet) {
  constexpr std::string_view kSpec = R"({"functions": [{"name": "f",
      "class_specification": {"id": "f", "function_type": "RUST_WASM", "outputs": []},
      "output_mapping": {"db": "r"}}],
    "resources": [{"name": "r", "class_type": "redis",
                   "configurations": {"url": "redis://127.0.0.1:6379/"%s}}]})";
  auto with = [&](std::string_view extra) {
    std::string s(kSpec);
    s.replace(s.find("%s"), 2, extra);
    return Parse(s).resources[0].configurations;
  };
  // EDGELESS's redis needs no key (casts then fail) and answers calls with GET.
  EXPECT_EQ(with("").at("call"), "get");
  EXPECT_EQ(with(R"(, "call": "write", "key": "k")").at("call"), "write");
  EXPECT_FALSE(Parse(R"({"resources": [{"name": "r", "class_type": "redis",
                                        "configurations": {"key": "k"}}]})")
                   .resources[0]
                   .configurations.contains("call"));
}

// EDGELESS's serverless example: "double" is a class an engine's
// operator configured, accepted only when some node offers it.
TEST(WorkflowSpecTest, ServerlessClassesNeedANodeThatOffersThem) {
  constexpr std::string_view kSpec = R"({"resources": [
      {"name": "double", "class_type": "double", "output_mapping": {"out": "log"},
       "annotations": {"label_match_all": ["zone=eu"]}},
      {"name": "log", "class_type": "file-log", "configurations": {"filename": "o.log"}}]})";
  std::string err = Error(kSpec);
  EXPECT_EQ(err.rfind("resources[0].class_type: unknown class \"double\"", 0), 0u) << err;
  EXPECT_NE(err.find("[[workflow.serverless]]"), std::string::npos) << err;

  SpecCheckHooks offered;
  offered.node_class_offered = [](const std::string& c) { return c == "double"; };
  Result<WorkflowSpec> s = ParseWorkflowSpec(kSpec, offered);
  ASSERT_TRUE(s.ok()) << s.status().message();
  // Placed only where the class is, besides what the spec asks.
  EXPECT_EQ(s->resources[0].label_match_all,
            (std::vector<LabelMatch>{{"zone", "eu"}, {"resource-class.double", std::nullopt}}));
  // Stored and read back: the same, the label not doubled.
  Result<WorkflowSpec> again = ParseWorkflowSpec(SerializeWorkflowSpec(*s), offered);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(*again, *s);

  // It takes no configurations (the engine has its URL)...
  std::string with_url(kSpec);
  with_url.replace(with_url.find(R"("output_mapping": {"out")"), 0,
                   R"("configurations": {"url": "http://169.254.169.254/"}, )");
  err = Error(with_url, offered);
  EXPECT_EQ(err.rfind("resources[0].configurations.url: a serverless class takes no", 0), 0u)
      << err;
  // ...and a built-in class is never one.
  offered.node_class_offered = [](const std::string&) { return true; };
  err = Error(R"({"resources": [{"name": "t", "class_type": "timer", "configurations": {}}]})",
              offered);
  EXPECT_EQ(err.rfind("resources[0].configurations.period_ms: required", 0), 0u) << err;
}

TEST(WorkflowSpecTest, EdgelessServerlessExampleIgnoresConfigurations) {
  SpecCheckHooks offered;
  std::vector<std::string> warnings;
  offered.warnings = &warnings;
  offered.node_class_offered = [](const std::string& c) { return c == "double"; };
  Result<WorkflowSpec> s = ParseWorkflowSpec(R"({"functions": [{"name": "counter",
      "class_specification": {"id": "counter", "function_type": "RUST_WASM", "outputs": []},
      "output_mapping": {"output": "double"}}],
    "resources": [{"name": "double", "class_type": "double",
                   "output_mapping": {"out": "counter"}, "configurations": {"k": "v"}}]})",
                                             offered);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_TRUE(s->resources[0].configurations.empty());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("resources[0].configurations.k"), std::string::npos) << warnings[0];
}

TEST(WorkflowSpecTest, CliRewrittenEdgelessForm) {
  // `aether workflow apply` removes the code path and adds "function": that
  // name wins over the class id.
  WorkflowSpec s = Parse(R"({"functions": [{"name": "ponger", "function": "pp-ponger",
      "class_specification": {"id": "pong", "function_type": "RUST_WASM", "version": "0.1",
                              "outputs": ["ping"]},
      "output_mapping": {"ping": "ponger"}}]})");
  EXPECT_EQ(s.functions[0].function, "pp-ponger");
}

TEST(WorkflowSpecTest, RoundTrip) {
  for (std::string_view text :
       {kPipeline, kEdgelessFileLog, kEdgelessPingPong, kAetherOrders, kEdgelessOrders}) {
    WorkflowSpec s = Parse(text);
    std::string serialized = SerializeWorkflowSpec(s);
    EXPECT_EQ(Parse(serialized), s) << serialized;
  }
  WorkflowSpec s = Parse(R"({"name": "all", "functions": [
    {"name": "a", "function": "fa", "output_mapping": {"o1": "b", "o2": "r"}, "annotations": {
       "init_payload": "bytes \u00e9 \n\"q\"", "max_instances": 5, "memory_limit": "1GB",
       "node_id_match_any": ["n.1"], "label_match_all": ["k=v=w", "flag", "e="]}},
    {"name": "b", "function": "fb"}],
    "resources": [{"name": "r", "class_type": "redis", "configurations": {"key": "k", "url": "redis://h:1"},
                   "annotations": {"label_match_all": {"zone": "eu"}, "node_id_match_any": "x"}},
                  {"name": "t", "class_type": "timer", "configurations": {"period_ms": 10},
                   "output_mapping": {"tick": "a"}}],
    "annotations": {"a": "b", "list": [1, "2"]}})");
  EXPECT_EQ(s.functions[0].label_match_all,
            (std::vector<LabelMatch>{{"k", "v=w"}, {"flag", std::nullopt}, {"e", ""}}));
  json::value v = json::parse(SerializeWorkflowSpec(s));
  EXPECT_EQ(Parse(json::serialize(v)), s);
  // Aether's names only, and the normalized form is a fixed point.
  EXPECT_EQ(SerializeWorkflowSpec(Parse(json::serialize(v))), json::serialize(v));
  const json::object& f0 = v.at("functions").at(0).as_object();
  EXPECT_EQ(f0.at("function").as_string(), "fa");
  EXPECT_EQ(f0.at("annotations").at("memory_limit").to_number<uint64_t>(), 1ull << 30);
  EXPECT_FALSE(f0.contains("class_specification"));
}

struct BadSpec {
  std::string spec;
  std::string message;  // the error starts with this
};

// A cluster controller's annotations (docs/domains.md), in Aether's form and
// EDGELESS's comma lists.
constexpr std::string_view kDomains = R"({
  "functions": [
    {"name": "parse", "function": "parse", "output_mapping": {"out": "log"},
     "annotations": {"domain_match_any": ["edge-1", "edge.2", "edge-1"],
                     "node_id_match_any": ["n1"]}},
    {"name": "filter", "function": "filter", "annotations": {"domain_match_any": "edge-1, core"}}],
  "resources": [
    {"name": "log", "class_type": "file-log", "configurations": {"filename": "a.log"},
     "annotations": {"domain_match_any": "core"}},
    {"name": "kv", "class_type": "kv", "annotations": {"domain_match_any": []}}],
  "annotations": {"domains": "together", "owner": "team-a"}})";

TEST(WorkflowSpecTest, DomainAnnotations) {
  WorkflowSpec s = Parse(kDomains);
  // A repeated id is kept once, as in node_id_match_any.
  EXPECT_EQ(s.functions[0].domain_match_any, (std::vector<std::string>{"edge-1", "edge.2"}));
  EXPECT_EQ(s.functions[0].node_id_match_any, (std::vector<std::string>{"n1"}));
  EXPECT_EQ(s.functions[1].domain_match_any, (std::vector<std::string>{"edge-1", "core"}));
  EXPECT_EQ(s.resources[0].domain_match_any, (std::vector<std::string>{"core"}));
  EXPECT_TRUE(s.resources[1].domain_match_any.empty());
  EXPECT_EQ(s.domains, DomainAffinity::kTogether);
  // Kept in the map as well, with the other (uninterpreted) annotations.
  EXPECT_EQ(s.annotations,
            (std::map<std::string, std::string>{{"domains", "together"}, {"owner", "team-a"}}));
  std::string text = SerializeWorkflowSpec(s);
  EXPECT_EQ(Parse(text), s) << text;
  EXPECT_EQ(SerializeWorkflowSpec(Parse(text)), text);
  json::value v = json::parse(text);
  EXPECT_EQ(v.at("functions").at(1).at("annotations").at("domain_match_any"),
            (json::array{"edge-1", "core"}));
  EXPECT_EQ(v.at("resources").at(0).at("annotations").at("domain_match_any"), json::array{"core"});
  EXPECT_FALSE(v.at("resources").at(1).as_object().contains("annotations"));

  // Spread is the default, written or not; an empty list is no constraint.
  EXPECT_EQ(Parse(kPipeline).domains, DomainAffinity::kSpread);
  EXPECT_EQ(SerializeWorkflowSpec(Parse(kPipeline)).find("domain"), std::string::npos);
  WorkflowSpec spread = Parse(R"({"functions": [{"name": "f", "function": "fn"}],
                                  "annotations": {"domains": "spread"}})");
  EXPECT_EQ(spread.domains, DomainAffinity::kSpread);
  EXPECT_EQ(Parse(SerializeWorkflowSpec(spread)), spread);

  // Built in code: the field is what is written.
  WorkflowSpec built = Parse(kPipeline);
  built.domains = DomainAffinity::kTogether;
  built.annotations["domains"] = "together";
  built.functions[0].domain_match_any = {"d1"};
  built.resources[1].domain_match_any = {"d2", "d3"};
  EXPECT_EQ(Parse(SerializeWorkflowSpec(built)), built);
  WorkflowSpec field_only = Parse(kPipeline);
  field_only.domains = DomainAffinity::kTogether;
  EXPECT_EQ(Parse(SerializeWorkflowSpec(field_only)).domains, DomainAffinity::kTogether);
}

TEST(WorkflowSpecTest, RejectsBadDomainAnnotations) {
  const std::string kFn = R"({"name": "f", "function": "fn"})";
  auto fn_annotations = [&](const std::string& a) {
    return R"({"functions": [)" + kFn + R"(, {"name": "g", "function": "fn", "annotations": )" + a +
           "}]}";
  };
  auto top = [&](const std::string& a) {
    return R"({"functions": [)" + kFn + R"(], "annotations": {"domains": )" + a + "}}";
  };
  const std::vector<BadSpec> cases = {
      {fn_annotations(R"({"domain_match_any": ["bad id"]})"),
       "functions[1].annotations.domain_match_any[0]: invalid domain id \"bad id\": use letters, "
       "digits"},
      {fn_annotations(R"({"domain_match_any": ["ok", 3]})"),
       "functions[1].annotations.domain_match_any[1]: must be domain ids (strings)"},
      {fn_annotations(R"({"domain_match_any": [""]})"),
       "functions[1].annotations.domain_match_any[0]: must be domain ids (strings)"},
      {fn_annotations(R"({"domain_match_any": 7})"),
       "functions[1].annotations.domain_match_any: must be a list of domain ids"},
      {fn_annotations(R"({"domain_match_any": {"a": "b"}})"),
       "functions[1].annotations.domain_match_any: must be a list of domain ids"},
      {fn_annotations(R"({"domain_match_any": "a,,b"})"),
       "functions[1].annotations.domain_match_any: empty entry in \"a,,b\""},
      {fn_annotations(R"({"domain_match_any": "a,-b"})"),
       "functions[1].annotations.domain_match_any: invalid domain id \"-b\""},
      {fn_annotations(R"({"domains": ["a"]})"), "functions[1].annotations.domains: unknown field"},
      {R"({"resources": [{"name": "k", "class_type": "kv",
          "annotations": {"domain_match_any": ["a/b"]}}]})",
       "resources[0].annotations.domain_match_any[0]: invalid domain id \"a/b\""},
      {top(R"("apart")"), "annotations.domains: must be \"spread\" or \"together\""},
      {top(R"("Together")"), "annotations.domains: must be \"spread\" or \"together\""},
      {top(R"("")"), "annotations.domains: must be"},
      {top("true"), "annotations.domains: must be"},
      {top(R"(["together"])"), "annotations.domains: must be"},
      {top("null"), "annotations.domains: must be"},
  };
  for (const BadSpec& c : cases) {
    std::string err = Error(c.spec);
    EXPECT_EQ(err.rfind(c.message, 0), 0u)
        << "got:  " << err << "\nwant: " << c.message << "\nspec: " << c.spec;
  }
  std::string ids;
  for (int i = 0; i < 257; ++i) ids += (i == 0 ? "d" : ",d") + std::to_string(i);
  EXPECT_EQ(Error(fn_annotations(R"({"domain_match_any": ")" + ids + R"("})")),
            "functions[1].annotations.domain_match_any: more than 256 entries");
}

// A spec whose first function is "f" with `fields`, then `more` functions.
std::string WithFunction(const std::string& fields, const std::string& more = "") {
  return R"({"functions": [{"name": "f")" + std::string(fields.empty() ? "" : ", ") + fields + "}" +
         more + "]}";
}

TEST(WorkflowSpecTest, RejectsWithThePath) {
  const std::string kFn = R"("function": "fn")";
  const std::string kAnn = kFn + R"(, "annotations": )";
  const std::vector<BadSpec> cases = {
      // the document
      {"", "spec: not valid JSON"},
      {"{", "spec: not valid JSON"},
      {"[]", "spec: must be a JSON object"},
      {"{}", "functions: a workflow needs at least one function or resource"},
      {R"({"functions": [], "resources": []})", "functions: a workflow needs at least one"},
      {R"({"function": []})",
       "function: unknown field (known: name, functions, resources, annotations, delivery)"},
      {R"({"functions": {}})", "functions: must be a list"},
      {R"({"resources": "x"})", "resources: must be a list"},
      {R"({"annotations": [], "functions": [{"name": "f", "function": "fn"}]})",
       "annotations: must be an object"},
      // the workflow's name
      {R"({"name": 5, "functions": [{"name": "f", "function": "fn"}]})", "name: must be a string"},
      {R"({"name": "Big", "functions": [{"name": "f", "function": "fn"}]})",
       "name: \"Big\": use 1 to 63"},
      {R"({"name": "a/b", "functions": [{"name": "f", "function": "fn"}]})",
       "name: \"a/b\": use 1 to 63"},
      {R"({"name": "", "functions": [{"name": "f", "function": "fn"}]})",
       "name: \"\": use 1 to 63"},
      {R"({"name": "-a", "functions": [{"name": "f", "function": "fn"}]})",
       "name: \"-a\": use 1 to 63"},
      {R"({"name": ")" + std::string(64, 'a') +
           R"(", "functions": [{"name": "f", "function": "fn"}]})",
       "name: \""},
      {R"({"name": "wf-1a2b3c4d", "functions": [{"name": "f", "function": "fn"}]})",
       "name: \"wf-1a2b3c4d\" has the form of a generated id"},
      // function entries
      {R"({"functions": [5]})", "functions[0]: must be an object"},
      {R"({"functions": [{"function": "fn"}]})", "functions[0].name: required"},
      {R"({"functions": [{"name": null, "function": "fn"}]})", "functions[0].name: required"},
      {R"({"functions": [{"name": 7, "function": "fn"}]})", "functions[0].name: must be a string"},
      {R"({"functions": [{"name": "A", "function": "fn"}]})",
       "functions[0].name: \"A\": use 1 to 63"},
      {R"({"functions": [{"name": "../x", "function": "fn"}]})", "functions[0].name: \"../x\""},
      {WithFunction(kFn + R"(, "extra": 1)"),
       "functions[0].extra: unknown field (known: name, function, code, "},
      {WithFunction(""), "functions[0].function: required"},
      {WithFunction(R"("function": 5)"),
       "functions[0].function: must be a deployed function's name"},
      {WithFunction(R"("function": "Fn")"), "functions[0].function: invalid function name \"Fn\""},
      {WithFunction(R"("function": "manifest")"),
       "functions[0].function: invalid function name \"manifest\": the name is reserved"},
      {WithFunction(R"("code": "parse.c")"), "functions[0].code: a code path cannot be posted"},
      {WithFunction(kFn + R"(, "code": "parse.c")"),
       "functions[0].code: a code path cannot be posted"},
      {WithFunction(R"("class_specification": {"id": "p", "include_code_file": "./p.wasm"})"),
       "functions[0].class_specification.include_code_file: a code path cannot be posted"},
      {WithFunction(R"("class_specification": {"id": "p", "code": "../../p.wasm"})"),
       "functions[0].class_specification.code: a code path cannot be posted"},
      {WithFunction(R"("class_specification": {"function_type": "RUST_WASM"})"),
       "functions[0].class_specification.id: required"},
      {WithFunction(R"("class_specification": {"id": "Bad Id"})"),
       "functions[0].class_specification.id: invalid function name"},
      {WithFunction(R"("class_specification": {"id": "p", "function_type": "CONTAINER"})"),
       "functions[0].class_specification.function_type: CONTAINER functions are not supported"},
      {WithFunction(R"("class_specification": {"id": "p", "version": 1})"),
       "functions[0].class_specification.version: must be a string"},
      {WithFunction(R"("class_specification": {"id": "p", "outputs": "a"})"),
       "functions[0].class_specification.outputs: must be a list"},
      {WithFunction(R"("class_specification": {"id": "p", "outputs": [1]})"),
       "functions[0].class_specification.outputs[0]: must be output names"},
      {WithFunction(R"("class_specification": 3)"),
       "functions[0].class_specification: must be an object"},
      {WithFunction(
           R"("class_specification": {"id": "p", "outputs": ["a"]}, "output_mapping": {"b": "f"})"),
       "functions[0].output_mapping.b: not among class_specification.outputs (a)"},
      // output mappings
      {WithFunction(kFn + R"(, "output_mapping": [])"),
       "functions[0].output_mapping: must be an object"},
      {WithFunction(kFn + R"(, "output_mapping": {"out": 1})"),
       "functions[0].output_mapping.out: the target must be"},
      {WithFunction(kFn + R"(, "output_mapping": {"": "f"})"),
       "functions[0].output_mapping.: an output name has"},
      {WithFunction(kFn,
                    R"(, {"name": "g", "function": "fn", "output_mapping": {"out": "filtr"}})"),
       "functions[1].output_mapping.out: unknown target \"filtr\" (components: f, g)"},
      // duplicates
      {WithFunction(kFn, R"(, {"name": "f", "function": "fn"})"),
       "functions[1].name: duplicate component name \"f\" (also functions[0])"},
      {R"({"functions": [{"name": "k", "function": "fn"}], "resources": [{"name": "k", "class_type": "kv"}]})",
       "resources[0].name: duplicate component name \"k\" (also functions[0])"},
      // function annotations
      {WithFunction(kAnn + "[]"), "functions[0].annotations: must be an object"},
      {WithFunction(kAnn + R"({"replicas": 2})"),
       "functions[0].annotations.replicas: unknown field (known: init_payload, init-payload, "
       "max_instances, "},
      {WithFunction(kAnn + R"({"max_instances": 0})"),
       "functions[0].annotations.max_instances: must be a whole number from 1 to 64, got \"0\""},
      {WithFunction(kAnn + R"({"max_instances": 65})"),
       "functions[0].annotations.max_instances: must be"},
      {WithFunction(kAnn + R"({"max_instances": "65"})"),
       "functions[0].annotations.max_instances: must be"},
      {WithFunction(kAnn + R"({"max_instances": -1})"),
       "functions[0].annotations.max_instances: must be"},
      {WithFunction(kAnn + R"({"max_instances": 1.5})"),
       "functions[0].annotations.max_instances: must be"},
      {WithFunction(kAnn + R"({"max_instances": "two"})"),
       "functions[0].annotations.max_instances: must be"},
      {WithFunction(kAnn + R"({"max_instances": "+2"})"),
       "functions[0].annotations.max_instances: must be"},
      {WithFunction(kAnn + R"({"max_instances": true})"),
       "functions[0].annotations.max_instances: must be"},
      {WithFunction(kAnn + R"({"max_instances": 18446744073709551615})"),
       "functions[0].annotations.max_instances: must be"},
      {WithFunction(kAnn + R"({"init_payload": "a", "init-payload": "b"})"),
       "functions[0].annotations.init-payload: give \"init_payload\" or \"init-payload\", not "
       "both"},
      {WithFunction(kAnn + R"({"memory_limit": "lots"})"),
       "functions[0].annotations.memory_limit: invalid size \"lots\""},
      {WithFunction(kAnn + R"({"memory_limit": "16XB"})"),
       "functions[0].annotations.memory_limit: invalid size"},
      {WithFunction(kAnn + R"({"memory_limit": 1000})"),
       "functions[0].annotations.memory_limit: must be 0 (the default) or between 64KiB and 4GiB"},
      {WithFunction(kAnn + R"({"memory_limit": "5GB"})"),
       "functions[0].annotations.memory_limit: must be 0 (the default) or between 64KiB and 4GiB"},
      {WithFunction(kAnn + R"({"memory_limit": -5})"),
       "functions[0].annotations.memory_limit: must be a number of bytes"},
      {WithFunction(kAnn + R"({"memory_limit": [1]})"),
       "functions[0].annotations.memory_limit: must be a number of bytes"},
      {WithFunction(kAnn + R"({"node_id_match_any": 5})"),
       "functions[0].annotations.node_id_match_any: must be a list of node ids"},
      {WithFunction(kAnn + R"({"node_id_match_any": ["ok", 5]})"),
       "functions[0].annotations.node_id_match_any[1]: must be node ids"},
      {WithFunction(kAnn + R"({"node_id_match_any": ["ok", "bad id"]})"),
       "functions[0].annotations.node_id_match_any[1]: invalid node_id \"bad id\""},
      {WithFunction(kAnn + R"({"node_id_match_any": "a,,b"})"),
       "functions[0].annotations.node_id_match_any: empty entry"},
      {WithFunction(kAnn + R"({"label_match_all": 5})"),
       "functions[0].annotations.label_match_all: must be a list of \"key=value\""},
      {WithFunction(kAnn + R"({"label_match_all": ["=v"]})"),
       "functions[0].annotations.label_match_all[0]: a label key has 1 to 128 characters"},
      {WithFunction(kAnn + R"({"label_match_all": [""]})"),
       "functions[0].annotations.label_match_all[0]: must be \"key=value\" or \"key\""},
      {WithFunction(kAnn + R"({"label_match_all": {"a=b": "c"}})"),
       "functions[0].annotations.label_match_all.a=b: a label key cannot contain '=' or ','"},
      {WithFunction(kAnn + R"({"label_match_all": {"k": null}})"),
       "functions[0].annotations.label_match_all.k: must be a string, a number or a boolean"},
      {WithFunction(kAnn + R"({"label_match_all": ["k=)" + std::string(257, 'v') + R"("]})"),
       "functions[0].annotations.label_match_all[0]: a label value has at most 256 characters"},
      // resources
      {R"({"resources": [3]})", "resources[0]: must be an object"},
      {R"({"resources": [{"name": "r"}]})", "resources[0].class_type: required"},
      {R"({"resources": [{"name": "r", "class_type": "dda"}]})",
       "resources[0].class_type: EDGELESS's \"dda\" resource is not supported by Aether"},
      {R"({"resources": [{"name": "r", "class_type": "dbx"}]})",
       "resources[0].class_type: unknown class \"dbx\" (known: file-log, file-pusher, "},
      {R"({"resources": [{"name": "r", "class_type": "kv", "extra": 1}]})",
       "resources[0].extra: unknown field"},
      {R"({"resources": [{"name": "R", "class_type": "kv"}]})", "resources[0].name: \"R\""},
      {R"({"resources": [{"name": "t", "class_type": "timer", "configurations": {}}]})",
       "resources[0].configurations.period_ms: required"},
      {R"({"resources": [{"name": "t", "class_type": "timer", "configurations": {"period_ms": 5}}]})",
       "resources[0].configurations.period_ms: must be between 10 and 86400000, got 5"},
      {R"({"resources": [{"name": "t", "class_type": "timer", "configurations": {"period_ms": "1s"}}]})",
       "resources[0].configurations.period_ms: must be a whole decimal number"},
      {R"({"resources": [{"name": "t", "class_type": "timer", "configurations": {"period_ms": [1]}}]})",
       "resources[0].configurations.period_ms: must be a string, a number or a boolean"},
      {R"({"resources": [{"name": "t", "class_type": "timer", "configurations": []}]})",
       "resources[0].configurations: must be an object"},
      {R"({"resources": [{"name": "k", "class_type": "kv", "configurations": {"max_keys": 1, "colour": "red"}}]})",
       "resources[0].configurations.colour: unknown key (known keys: max_keys, max_value_bytes, "
       "storage)"},
      {R"({"resources": [{"name": "r", "class_type": "file-log", "configurations": {"filename": "../x"}}]})",
       "resources[0].configurations.filename: use 1 to 128"},
      {R"({"resources": [{"name": "e", "class_type": "http-egress", "configurations": {"allow": ""}}]})",
       "resources[0].configurations.allow: is empty"},
      {R"({"resources": [{"name": "r", "class_type": "redis", "configurations": {"key": "k", "url": "redis://a@b"}}]})",
       "resources[0].configurations.url: authentication (user:password@) is not supported yet"},
      {R"({"resources": [{"name": "s", "class_type": "sqlx", "configurations": {"url": "sqlite://../x.db"}}]})",
       "resources[0].configurations.url: the SQLite database is a file name"},
      {R"({"resources": [{"name": "s", "class_type": "sqlx", "configurations": {"url": "postgresql://u:p@h/db"}}]})",
       "resources[0].configurations.url: holds a password"},
      {R"({"resources": [{"name": "i", "class_type": "http-ingress"}]})",
       "resources[0].output_mapping: an http-ingress maps exactly one output"},
      {R"({"functions": [{"name": "f", "function": "fn"}], "resources": [{"name": "i", "class_type": "http-ingress",
          "output_mapping": {"a": "f", "b": "f"}}]})",
       "resources[0].output_mapping: an http-ingress maps exactly one output"},
      {R"({"resources": [{"name": "k", "class_type": "kv", "annotations": {"max_instances": 2}}]})",
       "resources[0].annotations.max_instances: unknown field (known: node_id_match_any, "
       "label_match_all, domain_match_any)"},
      {R"({"resources": [{"name": "k", "class_type": "kv", "annotations": {"label_match_all": ["a,b"]}}]})",
       "resources[0].annotations.label_match_all[0]: a label key cannot contain '=' or ','"},
      {R"({"resources": [{"name": "k", "class_type": "kv", "annotations": "x"}]})",
       "resources[0].annotations: must be an object"},
      {R"({"functions": [{"name": "f", "function": "fn"}], "resources": [{"name": "t", "class_type": "timer",
          "configurations": {"period_ms": 100}, "output_mapping": {"tick": "nope"}}]})",
       "resources[0].output_mapping.tick: unknown target \"nope\" (components: f, t)"},
  };
  for (const BadSpec& c : cases) {
    std::string err = Error(c.spec);
    EXPECT_EQ(err.rfind(c.message, 0), 0u)
        << "got:  " << err << "\nwant: " << c.message << "\nspec: " << c.spec;
  }
}

TEST(WorkflowSpecTest, FunctionExistsHook) {
  std::vector<std::string> asked;
  SpecCheckHooks hooks;
  hooks.function_exists = [&](const std::string& name) {
    asked.push_back(name);
    return name != "missing";
  };
  EXPECT_TRUE(ParseWorkflowSpec(kPipeline, hooks).ok());
  EXPECT_EQ(asked, (std::vector<std::string>{"parse", "filter"}));
  EXPECT_EQ(
      Error(
          R"({"functions": [{"name": "a", "function": "parse"}, {"name": "b", "function": "missing"}]})",
          hooks),
      "functions[1].function: no function \"missing\" is deployed");
  EXPECT_EQ(
      Error(R"({"functions": [{"name": "a", "class_specification": {"id": "missing"}}]})", hooks),
      "functions[0].class_specification.id: no function \"missing\" is deployed");
}

// A portal is an egress to any address, and a portal ingress a door to a
// component: only a cluster controller's parts may hold them.
TEST(WorkflowSpecTest, UsersCannotDeclarePortals) {
  const std::string token(64, 'a');
  const std::string portal = R"({"functions": [{"name": "f", "function": "parse",
      "output_mapping": {"out": "p"}}],
      "resources": [{"name": "p", "class_type": "portal",
                     "configurations": {"url": "http://169.254.169.254/wf/x/y", "token": ")" +
                             token + R"("}}]})";
  const std::string unknown =
      "resources[0].class_type: unknown class \"portal\" (known: file-log, file-pusher, "
      "http-egress, http-ingress, http-poster, kv, redis, sqlx, timer; or a serverless class an "
      "engine provides, and no node does: [[workflow.serverless]] in docs/configuration.md)";
  EXPECT_EQ(Error(portal), unknown);
  // Not even when a node carries the label of a serverless class "portal"
  // (set by hand: an engine refuses the name).
  SpecCheckHooks any_class;
  any_class.node_class_offered = [](const std::string&) { return true; };
  EXPECT_EQ(Error(portal, any_class), unknown);
  const std::string refused =
      "resources[0].configurations: portals (an http-ingress in mode \"portal\" or on a path "
      "under \"_portal\") are made by a cluster controller for links between domains; a "
      "workflow cannot declare one";
  for (const std::string& config :
       {R"({"mode": "portal", "token_sha256": ")" + token + R"("})",
        std::string(R"({"path": "_portal/f"})"), std::string(R"({"path": "_portal"})")}) {
    std::string spec = R"({"functions": [{"name": "f", "function": "parse"}],
        "resources": [{"name": "in", "class_type": "http-ingress", "configurations": )" +
                       config + R"(, "output_mapping": {"o": "f"}}]})";
    EXPECT_EQ(Error(spec), refused) << config;
    SpecCheckHooks controller;
    controller.portals = true;
    EXPECT_TRUE(ParseWorkflowSpec(spec, controller).ok()) << config;
  }
  // A path that merely starts with the letters is the user's.
  EXPECT_TRUE(ParseWorkflowSpec(R"({"functions": [{"name": "f", "function": "parse"}],
      "resources": [{"name": "in", "class_type": "http-ingress",
                     "configurations": {"path": "_portals/x"}, "output_mapping": {"o": "f"}}]})")
                  .ok());
  // The token belongs to portal mode only, and portal mode needs one.
  SpecCheckHooks controller;
  controller.portals = true;
  EXPECT_EQ(Error(R"({"functions": [{"name": "f", "function": "parse"}],
      "resources": [{"name": "in", "class_type": "http-ingress",
                     "configurations": {"mode": "portal"}, "output_mapping": {"o": "f"}}]})",
                  controller),
            "resources[0].configurations.token_sha256: required in portal mode: 64 lower-case "
            "hex digits");
  EXPECT_EQ(
      Error(R"({"functions": [{"name": "f", "function": "parse"}],
      "resources": [{"name": "p", "class_type": "portal",
                     "configurations": {"url": "ftp://x/wf/a/b", "token": ")" +
                token + R"("}}]})",
            controller),
      "resources[0].configurations.url: required: http(s)://host[:port]/wf/{workflow}/{path}");
}

// "@<component>" outputs are the routes back to a component's senders that
// the control plane adds to the node assignments: no spec may declare one,
// in either shape.
TEST(WorkflowSpecTest, OutputNamesStartingWithAtAreReserved) {
  const std::string reserved =
      ": output names starting with '@' are reserved (the engine's routes back to the components "
      "that send here)";
  EXPECT_EQ(Error(R"({"functions": [{"name": "f", "function": "parse",
      "output_mapping": {"out": "f", "@x": "f"}}]})"),
            "functions[0].output_mapping.@x" + reserved);
  EXPECT_EQ(Error(R"({"functions": [{"name": "f", "function": "parse"}],
      "resources": [{"name": "t", "class_type": "timer", "configurations": {"period_ms": 100},
                     "output_mapping": {"@f": "f"}}]})"),
            "resources[0].output_mapping.@f" + reserved);
  // EDGELESS-shaped (lenient about unknown fields, not about this), also
  // when class_specification.outputs declares it.
  EXPECT_EQ(Error(R"({"functions": [{"name": "f",
      "class_specification": {"id": "parse", "function_type": "RUST_WASM", "outputs": ["@x"]},
      "output_mapping": {"@x": "f"}}]})"),
            "functions[0].output_mapping.@x" + reserved);
  EXPECT_EQ(Error(R"({"functions": [{"name": "f", "class_specification": {"id": "parse"}}],
      "resources": [{"name": "in", "class_type": "http-ingress", "configurations": {"path": "in"},
                     "output_mapping": {"@new_request": "f"}}]})"),
            "resources[0].output_mapping.@new_request" + reserved);
  // Only the first character is reserved.
  WorkflowSpec s = Parse(R"({"functions": [{"name": "f", "function": "parse",
      "output_mapping": {"reply@f": "f"}}]})");
  EXPECT_EQ(s.functions[0].output_mapping, (std::map<std::string, std::string>{{"reply@f", "f"}}));
}

// EDGELESS ignores what it does not know; so does an EDGELESS-shaped spec
// here, with a warning for each. An Aether-shaped spec stays strict.
TEST(WorkflowSpecTest, EdgelessShapedSpecsIgnoreUnknownFieldsWithWarnings) {
  const std::string edgeless = R"({"version": 2,
    "functions": [{"name": "f", "colour": "red",
      "class_specification": {"id": "parse", "function_type": "RUST_WASM", "owner": "x"},
      "output_mapping": {"out": "log"},
      "annotations": {"init-payload": "5", "cpu": "2"}}],
    "resources": [{"name": "log", "class_type": "file-log", "extra": 1,
                   "configurations": {"filename": "a.log", "rotate": "daily",
                                      "add-source-id": "true"},
                   "annotations": {"gpu": "1"}}]})";
  std::vector<std::string> warnings;
  SpecCheckHooks hooks;
  hooks.warnings = &warnings;
  Result<WorkflowSpec> s = ParseWorkflowSpec(edgeless, hooks);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(warnings, (std::vector<std::string>{
                          "version: unknown field, ignored",
                          "functions[0].colour: unknown field, ignored",
                          "functions[0].class_specification.owner: unknown field, ignored",
                          "functions[0].annotations.cpu: unknown field, ignored",
                          "resources[0].extra: unknown field, ignored",
                          "resources[0].configurations.rotate: unknown configuration key, ignored",
                          "resources[0].annotations.gpu: unknown field, ignored",
                      }));
  EXPECT_EQ(s->resources[0].configurations,
            (ResourceConfigMap{{"add-source-id", "true"}, {"filename", "a.log"}}));
  EXPECT_EQ(s->functions[0].init_payload, "5");
  // Known keys are still checked, and classes still known or refused.
  EXPECT_EQ(Error(R"({"functions": [{"name": "f", "class_specification": {"id": "parse"}}],
      "resources": [{"name": "log", "class_type": "file-log",
                     "configurations": {"add-source-id": "yes"}}]})"),
            "resources[0].configurations.add-source-id: must be false or true, got \"yes\"");
  EXPECT_EQ(Error(R"({"functions": [{"name": "f", "class_specification": {"id": "parse"}}],
      "resources": [{"name": "k", "class_type": "kafka-egress"}]})"),
            "resources[0].class_type: EDGELESS's \"kafka-egress\" resource is not supported by "
            "Aether (supported: file-log, file-pusher, http-egress, http-ingress, http-poster, kv, "
            "redis, sqlx, timer; "
            "docs/edgeless.md)");
  // Aether-shaped: the same fields are errors, and nothing is warned.
  warnings.clear();
  EXPECT_EQ(Error(R"({"functions": [{"name": "f", "function": "parse", "colour": "red"}]})", hooks),
            "functions[0].colour: unknown field (known: name, function, code, "
            "class_specification, output_mapping, annotations)");
  EXPECT_EQ(Error(R"({"functions": [{"name": "f", "function": "parse"}],
      "resources": [{"name": "log", "class_type": "file-log",
                     "configurations": {"rotate": "daily"}}]})",
                  hooks),
            "resources[0].configurations.rotate: unknown key (known keys: add-source-id, "
            "add-timestamp, filename, max_bytes)");
  EXPECT_TRUE(warnings.empty());
  // Warnings are bounded.
  std::string many = R"({"functions": [{"name": "f", "class_specification": {"id": "parse"})";
  for (int i = 0; i < 100; ++i) many += ", \"x" + std::to_string(i) + "\": 1";
  many += "}]}";
  EXPECT_TRUE(ParseWorkflowSpec(many, hooks).ok());
  EXPECT_EQ(warnings.size(), 64u);
}

// EDGELESS's placement annotations: max_instances 0 (no maximum) is one
// instance; resource providers and the tee/tpm capabilities are labels.
TEST(WorkflowSpecTest, EdgelessPlacementAnnotationsMapToLabels) {
  WorkflowSpec s = Parse(R"({"functions": [{"name": "f",
      "class_specification": {"id": "parse", "function_type": "RUST_WASM"},
      "annotations": {"max_instances": "0", "label_match_all": "zone=eu",
                      "resource_match_all": "file-1,redis", "tee": "REQuired",
                      "tpm": "not_required"}}]})");
  EXPECT_EQ(s.functions[0].max_instances, 1);
  EXPECT_EQ(s.functions[0].label_match_all, (std::vector<LabelMatch>{{"zone", "eu"},
                                                                     {"file-1", std::nullopt},
                                                                     {"redis", std::nullopt},
                                                                     {"tee", std::nullopt}}));
  // The labels are what is stored: a round trip keeps them.
  EXPECT_EQ(Parse(SerializeWorkflowSpec(s)), s);
  // An Aether-shaped spec takes the same capabilities; 0 instances stays an error there.
  WorkflowSpec a = Parse(R"({"functions": [{"name": "f", "function": "parse",
      "annotations": {"tpm": "required"}}]})");
  EXPECT_EQ(a.functions[0].label_match_all, (std::vector<LabelMatch>{{"tpm", std::nullopt}}));
  EXPECT_EQ(Error(R"({"functions": [{"name": "f", "function": "parse",
      "annotations": {"tee": true}}]})"),
            "functions[0].annotations.tee: must be \"required\" or \"not_required\"");
  EXPECT_EQ(Error(R"({"functions": [{"name": "f", "function": "parse",
      "annotations": {"resource_match_all": "a=b"}}]})"),
            "functions[0].annotations.resource_match_all: lists resource provider names, not "
            "key=value");
}

TEST(WorkflowSpecTest, Limits) {
  auto functions = [](size_t n) {
    json::array a;
    for (size_t i = 0; i < n; ++i)
      a.push_back(json::object{{"name", "f" + std::to_string(i)}, {"function", "fn"}});
    return a;
  };
  EXPECT_TRUE(ParseWorkflowSpec(json::serialize(json::object{{"functions", functions(256)}})).ok());
  EXPECT_EQ(Error(json::serialize(json::object{{"functions", functions(257)}})),
            "functions: more than 256 components in the workflow");
  EXPECT_EQ(
      Error(json::serialize(json::object{
          {"functions", functions(200)},
          {"resources", json::array(57, json::object{{"name", "k"}, {"class_type", "kv"}})}})),
      "resources: more than 256 components in the workflow");

  json::object outputs;
  for (int i = 0; i < 64; ++i) outputs["o" + std::to_string(i)] = "f";
  json::object fn{{"name", "f"}, {"function", "fn"}, {"output_mapping", outputs}};
  EXPECT_TRUE(
      ParseWorkflowSpec(json::serialize(json::object{{"functions", json::array{fn}}})).ok());
  fn["output_mapping"].as_object()["o64"] = "f";
  EXPECT_EQ(Error(json::serialize(json::object{{"functions", json::array{fn}}})),
            "functions[0].output_mapping: more than 64 outputs");

  json::object init{{"name", "f"},
                    {"function", "fn"},
                    {"annotations", json::object{{"init_payload", std::string(1 << 20, 'x')}}}};
  EXPECT_TRUE(
      ParseWorkflowSpec(json::serialize(json::object{{"functions", json::array{init}}})).ok());
  init["annotations"].as_object()["init_payload"] = std::string((1 << 20) + 1, 'x');
  EXPECT_EQ(Error(json::serialize(json::object{{"functions", json::array{init}}})),
            "functions[0].annotations.init_payload: larger than 1 MiB");
  init["annotations"] = json::object{{"init-payload", std::string((1 << 20) + 1, 'x')}};
  EXPECT_EQ(Error(json::serialize(json::object{{"functions", json::array{init}}})),
            "functions[0].annotations.init-payload: larger than 1 MiB");

  json::array ids;
  for (int i = 0; i < 257; ++i) ids.push_back(json::string("n" + std::to_string(i)));
  json::object placed{
      {"name", "f"}, {"function", "fn"}, {"annotations", json::object{{"node_id_match_any", ids}}}};
  EXPECT_EQ(Error(json::serialize(json::object{{"functions", json::array{placed}}})),
            "functions[0].annotations.node_id_match_any: more than 256 entries");
}

TEST(WorkflowSpecTest, HostileInputNeverCrashes) {
  // Deep nesting where any value is allowed, and at the top.
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_EQ(
      Error(R"({"functions": [{"name": "f", "function": "fn", "annotations": {"init_payload": )" +
            deep + "}}]}")
          .rfind("spec: not valid JSON", 0),
      0u);
  EXPECT_EQ(Error(R"({"annotations": {"x": )" + deep + "}}").rfind("spec: not valid JSON", 0), 0u);
  EXPECT_EQ(Error(std::string(100000, '{')).rfind("spec: not valid JSON", 0), 0u);
  // A huge array of the wrong things.
  std::string many = "[1";
  for (int i = 0; i < 100000; ++i) many += ",1";
  many += "]";
  EXPECT_EQ(Error(R"({"functions": )" + many + "}"),
            "functions: more than 256 components in the workflow");
  // Numbers, nulls, objects where strings are expected.
  EXPECT_EQ(Error(R"({"functions": [{"name": "f", "function": {"a": 1}}]})"),
            "functions[0].function: must be a deployed function's name (a string)");
  EXPECT_EQ(Error(R"({"functions": [{"name": "f", "function": null}]})"),
            "functions[0].function: must be a deployed function's name (a string)");
  EXPECT_EQ(Error(R"({"resources": [{"name": "r", "class_type": 3}]})"),
            "resources[0].class_type: required: a resource class (a string)");
  EXPECT_EQ(Error(R"({"functions": [{"name": 1e400, "function": "f"}]})")
                .rfind("spec: not valid JSON", 0),
            0u);
  // Control bytes and long keys come back printable and short.
  std::string err = Error(R"({"functions": [{"name": "f", "function": "fn", ")" +
                          std::string(5000, 'k') + R"(\u0001": 1}]})");
  EXPECT_LT(err.size(), 300u);
  for (char c : err) EXPECT_GE(static_cast<unsigned char>(c), 0x20) << err;
  EXPECT_EQ(Error("{\"x\": 1} trailing").rfind("spec: not valid JSON", 0), 0u);
  EXPECT_EQ(Error(std::string("{\"functions\": [{\"name\": \"f\xff\"}]}"))
                .rfind("spec: not valid JSON", 0),
            0u);
  EXPECT_EQ(Error(std::string("\0\xff", 2)).rfind("spec: not valid JSON", 0), 0u);
}

// Random byte edits of valid specs: never a crash, every error an
// InvalidArgument with a message, and whatever parses round-trips.
TEST(WorkflowSpecTest, MutatedSpecsRoundTripOrFail) {
  std::mt19937 rng(42);
  const std::string alphabet = "{}[]\":,0123456789abcfnrtu-_=./ \\";
  const std::vector<std::string> seeds = {std::string(kPipeline), std::string(kEdgelessFileLog),
                                          std::string(kEdgelessPingPong),
                                          std::string(kAetherOrders), std::string(kDomains)};
  int parsed = 0;
  for (int i = 0; i < 4000; ++i) {
    std::string s = seeds[i % seeds.size()];
    int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits && !s.empty(); ++e) {
      size_t pos = rng() % s.size();
      switch (rng() % 3) {
        case 0:
          s[pos] = alphabet[rng() % alphabet.size()];
          break;
        case 1:
          s.erase(pos, 1 + rng() % 8);
          break;
        default:
          s.insert(pos, 1, alphabet[rng() % alphabet.size()]);
          break;
      }
    }
    Result<WorkflowSpec> r = ParseWorkflowSpec(s);
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
      EXPECT_FALSE(r.status().message().empty());
      continue;
    }
    ++parsed;
    Result<WorkflowSpec> again = ParseWorkflowSpec(SerializeWorkflowSpec(*r));
    ASSERT_TRUE(again.ok()) << again.status().message() << "\n" << s;
    EXPECT_EQ(*again, *r) << s;
  }
  EXPECT_GT(parsed, 0);
}

}  // namespace
}  // namespace aether::control
