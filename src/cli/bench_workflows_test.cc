#include "cli/bench_workflows.h"

#include <gtest/gtest.h>

#include <set>

#include "cli/scratch_test_util.h"
#include "common/json_util.h"
#include "control/workflows/workflow_spec.h"

namespace aether::cli::bench {
namespace {

namespace json = boost::json;

WorkflowType TypeOf(const std::string& arg, const std::string& wf_spec = "") {
  auto t = ParseWorkflowType(arg, wf_spec);
  EXPECT_TRUE(t.ok()) << t.status().message();
  EXPECT_FALSE(t.ok() && t->template_text.has_value());
  return t.ok() ? t->type : WorkflowType{};
}

// What the control plane's own parser says of a generated spec.
Result<control::WorkflowSpec> Validate(const json::object& spec) {
  control::SpecCheckHooks hooks;
  hooks.function_exists = [](const std::string& name) { return name == "relay"; };
  return control::ParseWorkflowSpec(ToJson(spec), hooks);
}

json::object Generate(const WorkflowType& t, std::mt19937_64& rng, uint64_t seq = 0) {
  auto spec = GenerateSpec(
      t, {.name = "bench-t-" + std::to_string(seq), .seq = seq, .function = "relay"}, rng);
  EXPECT_TRUE(spec.ok()) << spec.status().message();
  return spec.ok() ? *spec : json::object{};
}

TEST(BenchWorkflowsTest, SingleIsOneFunctionBehindAnIngress) {
  std::mt19937_64 rng(1);
  auto parsed = Validate(Generate(TypeOf("single"), rng));
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  ASSERT_EQ(parsed->functions.size(), 1u);
  EXPECT_EQ(parsed->functions[0].function, "relay");
  EXPECT_TRUE(parsed->functions[0].output_mapping.empty());
  ASSERT_EQ(parsed->resources.size(), 1u);
  EXPECT_EQ(parsed->resources[0].class_type, "http-ingress");
}

TEST(BenchWorkflowsTest, ChainsValidateAndLinkInOrder) {
  WorkflowType t = TypeOf("chain");
  ASSERT_TRUE(SetChainLength("2-5", &t.chain).ok());
  std::mt19937_64 rng(7);
  std::set<size_t> lengths;
  for (uint64_t i = 0; i < 50; ++i) {
    auto parsed = Validate(Generate(t, rng, i));
    ASSERT_TRUE(parsed.ok()) << parsed.status().message();
    size_t n = parsed->functions.size();
    lengths.insert(n);
    for (size_t k = 0; k + 1 < n; ++k) {
      EXPECT_EQ(parsed->functions[k].output_mapping.at("out"), "f" + std::to_string(k + 1));
    }
    EXPECT_TRUE(parsed->functions[n - 1].output_mapping.empty());
  }
  EXPECT_EQ(lengths, (std::set<size_t>{2, 3, 4, 5}));
}

TEST(BenchWorkflowsTest, SameSeedSameWorkflows) {
  WorkflowType t = TypeOf("map-reduce");
  std::mt19937_64 a(42), b(42);
  for (uint64_t i = 0; i < 10; ++i) EXPECT_EQ(Generate(t, a, i), Generate(t, b, i));
}

TEST(BenchWorkflowsTest, MapReduceStagesFanOutAndJoin) {
  WorkflowType t = TypeOf("map-reduce");
  std::mt19937_64 rng(3);
  for (uint64_t i = 0; i < 30; ++i) {
    auto parsed = Validate(Generate(t, rng, i));
    ASSERT_TRUE(parsed.ok()) << parsed.status().message();
    int stages = 0, blocks = 0;
    for (const control::FunctionSpec& f : parsed->functions) {
      if (f.name[0] == 's') {
        ++stages;
        EXPECT_EQ(f.init_payload.rfind("fanout=", 0), 0u) << f.init_payload;
      } else {
        ++blocks;
        EXPECT_TRUE(f.output_mapping.empty()) << f.name;  // a block replies to its stage
      }
    }
    EXPECT_GE(stages, 2);  // at least one stage and the final join
    EXPECT_LE(stages, 4);
    EXPECT_GE(blocks, stages - 1);
    EXPECT_LE(blocks, 3 * (stages - 1));
  }
}

TEST(BenchWorkflowsTest, TemplatesRoundTripThroughAFile) {
  testing::Scratch dir;
  for (std::string name : {"chain", "map-reduce"}) {
    auto tmpl = ParseWorkflowType(name + ";template", "");
    ASSERT_TRUE(tmpl.ok());
    ASSERT_TRUE(tmpl->template_text.has_value());
    std::string path = dir.Touch(name + ".json", *tmpl->template_text);
    std::string arg = name + ";";
    arg += path;
    auto back = ParseWorkflowType(arg, "");
    ASSERT_TRUE(back.ok()) << back.status().message();
    EXPECT_FALSE(back->template_text.has_value());
  }
  std::string p = dir.Touch("c.json", R"({"min_chain_length": 4, "max_chain_length": 4})");
  WorkflowType t = TypeOf("chain;" + p);
  EXPECT_EQ(t.chain.min_chain_length, 4);
  EXPECT_EQ(Describe(t), "chain of 4 functions");
}

TEST(BenchWorkflowsTest, BadParametersSayWhat) {
  testing::Scratch dir;
  struct Case {
    std::string arg, needle;
  } cases[] = {
      {"pipeline", "unknown workflow type \"pipeline\""},
      {"single;x", "unknown workflow type"},
      {"chain;" + dir / "missing.json", "cannot read the parameter file"},
      {"chain;" + dir.Touch("a.json", "[1]"), "not a JSON object"},
      {"chain;" + dir.Touch("b.json", R"({"min_chain": 1})"), "unknown key \"min_chain\""},
      {"chain;" + dir.Touch("c.json", R"({"min_chain_length": "2"})"), "must be an integer"},
      {"chain;" + dir.Touch("d.json", R"({"min_chain_length": 5, "max_chain_length": 2})"),
       "chain length"},
      {"map-reduce;" + dir.Touch("e.json", R"({"max_fan_out": 100})"), "fan-out"},
      {"json-spec", "--wf-spec"},
      {"json-spec;" + dir / "nope.json", "cannot read the workflow spec"},
      {"json-spec;" + dir.Touch("f.json", "{"), "f.json"},
  };
  for (const Case& c : cases) {
    auto t = ParseWorkflowType(c.arg, "");
    ASSERT_FALSE(t.ok()) << c.arg;
    EXPECT_NE(t.status().message().find(c.needle), std::string::npos) << t.status().message();
    EXPECT_EQ(t.status().code(), Code::kInvalidArgument);
  }
  ChainParams p;
  EXPECT_FALSE(SetChainLength("0", &p).ok());
  EXPECT_FALSE(SetChainLength("3-x", &p).ok());
  EXPECT_FALSE(SetChainLength("", &p).ok());
  ASSERT_TRUE(SetChainLength("3", &p).ok());
  EXPECT_EQ(p.min_chain_length, 3);
  EXPECT_EQ(p.max_chain_length, 3);
}

TEST(BenchWorkflowsTest, JsonSpecReplacesTheWorkflowId) {
  testing::Scratch dir;
  std::string path = dir.Touch("spec.json", R"({"name": "w@WF_ID", "functions": [
      {"name": "a", "function": "relay", "annotations": {"init_payload": "@WF_ID"}}]})");
  WorkflowType t = TypeOf("json-spec", path);
  std::mt19937_64 rng(1);
  json::object spec = Generate(t, rng, 17);
  EXPECT_EQ(spec["name"].as_string(), "w17");
  auto parsed = Validate(spec);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->functions[0].init_payload, "17");
  EXPECT_EQ(TypeOf("json-spec;" + path).spec_path, path);
}

}  // namespace
}  // namespace aether::cli::bench
