// Every workflow file of EDGELESS's examples/ (tests/edgeless/examples/,
// copied with its licence: tests/edgeless/README.md) either applies, read as
// EDGELESS reads it, or is refused with a message that names what Aether
// does not run. Code paths are removed first, as `aether workflow apply`
// does once it has deployed them; every function is taken as deployed.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "control/workflows/workflow_spec.h"

namespace aether::control {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

std::string WithoutCodePaths(const std::string& text) {
  json::value v = json::parse(text);
  if (json::object* o = v.if_object()) {
    if (json::array* fns = o->contains("functions") ? o->at("functions").if_array() : nullptr) {
      for (json::value& f : *fns) {
        json::object* fo = f.if_object();
        if (fo == nullptr || !fo->contains("class_specification")) continue;
        if (json::object* cs = fo->at("class_specification").if_object()) {
          cs->erase("code");
          cs->erase("include_code_file");
        }
      }
    }
  }
  return json::serialize(v);
}

// File -> "" (applies) or the start of the reason it is refused.
const std::map<std::string, std::string>& Expected() {
  static const std::map<std::string, std::string> kExpected = {
      {"bench_mapreduce--workflow-mapreduce-only.json", ""},
      {"bench_mapreduce--workflow-mapreduce-process.json", ""},
      {"container--workflow-python.json", "CONTAINER functions are not supported"},
      {"container--workflow-rust.json", "CONTAINER functions are not supported"},
      {"dda_demo--workflow.json", "EDGELESS's \"dda\" resource is not supported"},
      {"dda_test--workflow.json", "EDGELESS's \"dda\" resource is not supported"},
      {"esp32_resources--workflow.json", "unknown class \"scd30-sensor\""},
      {"file_log--workflow.json", ""},
      {"file_pusher--workflow.json", ""},
      {"http_egress--workflow.json", ""},
      {"http_ingress--workflow-async.json", ""},
      {"http_ingress--workflow-multi-1.json", ""},
      {"http_ingress--workflow-multi-2.json", ""},
      {"http_ingress--workflow.json", ""},
      {"http_poster--workflow.json", ""},
      {"kafka_egress--workflow.json", "EDGELESS's \"kafka-egress\" resource is not supported"},
      {"load_balance--workflow.json", ""},
      {"matrix_mul--workflow-chain.json", ""},
      {"matrix_mul--workflow-single.json", ""},
      {"noop--workflow.json", ""},
      {"ollama--workflow.json", "EDGELESS's \"ollama\" resource is not supported"},
      {"ping_pong--workflow.json", ""},
      {"ping_pong_async--workflow.json", ""},
      {"redis--workflow-alt.json", ""},
      {"redis--workflow-state.json", ""},
      {"redis--workflow.json", ""},
      {"serverless--workflow-serverless.json", ""},
      {"serverless--workflow-wasm.json", ""},
      {"sgx_container--workflow.json", "CONTAINER functions are not supported"},
      {"simple_workflow_http--workflow.json", ""},
      {"sqlx--workflow.json", ""},
      {"tutorial-01--workflow.json", ""},
      {"vector_mul--workflow-chain.json", ""},
      {"vector_mul--workflow-single.json", ""},
  };
  return kExpected;
}

TEST(EdgelessExamplesTest, EachAppliesOrIsRefusedSayingWhy) {
  fs::path dir = fs::path(AETHER_SOURCE_DIR) / "tests/edgeless/examples";
  int files = 0, applied = 0;
  for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
    if (e.path().extension() != ".json") continue;
    ++files;
    std::ifstream in(e.path());
    std::stringstream text;
    text << in.rdbuf();
    std::string name = e.path().filename().string();
    SpecCheckHooks hooks;
    hooks.function_exists = [](const std::string&) { return true; };
    // An engine set up as the serverless example's README sets up its
    // node: [[workflow.serverless]] class_type = "double".
    hooks.node_class_offered = [](const std::string& c) { return c == "double"; };
    std::vector<std::string> warnings;
    hooks.warnings = &warnings;
    Result<WorkflowSpec> spec = ParseWorkflowSpec(WithoutCodePaths(text.str()), hooks);
    auto want = Expected().find(name);
    ASSERT_NE(want, Expected().end())
        << name << " is not in the table; it " << (spec.ok() ? "applies" : spec.status().message());
    if (want->second.empty()) {
      EXPECT_TRUE(spec.ok()) << name << ": " << spec.status().message();
      applied += spec.ok() ? 1 : 0;
    } else {
      ASSERT_FALSE(spec.ok()) << name << " applies now: update the table";
      EXPECT_NE(spec.status().message().find(want->second), std::string::npos)
          << name << ": " << spec.status().message();
    }
  }
  EXPECT_EQ(files, static_cast<int>(Expected().size()));
  std::printf("EDGELESS examples: %d of %d apply\n", applied, files);
}

}  // namespace
}  // namespace aether::control
