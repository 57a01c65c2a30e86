#include "cli/workflow_code.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "cli/scratch_test_util.h"
#include "common/json_util.h"

namespace aether::cli {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

using testing::Scratch;

std::string ErrorOf(std::string_view text, const std::string& file) {
  auto r = ParseWorkflowFile(text, file);
  if (r.ok()) return "(ok)";
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << r.status().message();
  return r.status().message();
}

TEST(DeployedFunctionName, PrefixesTheSpecNameAndStaysValid) {
  EXPECT_EQ(DeployedFunctionName("", "parse"), "parse");
  EXPECT_EQ(DeployedFunctionName("pipeline", "parse"), "pipeline-parse");
  std::string a(40, 'a'), b(40, 'b'), c(40, 'c');
  std::string long1 = DeployedFunctionName(a, b);
  std::string long2 = DeployedFunctionName(a, c);
  EXPECT_EQ(long1.size(), 63u);
  EXPECT_EQ(long1.substr(0, 54), (a + "-" + b).substr(0, 54));
  EXPECT_NE(long1, long2) << "the hash keeps cut names apart";
  EXPECT_EQ(long1, DeployedFunctionName(a, b)) << "stable across runs";
}

TEST(UnnamedSpecPrefix, TheFileNamesTheModulesOfAnUnnamedSpec) {
  EXPECT_EQ(UnnamedSpecPrefix("/x/examples/ping_pong/workflow.json"), "ping_pong-workflow");
  EXPECT_EQ(UnnamedSpecPrefix("/x/My Stuff/Flow.v2.json"), "my-stuff-flow-v2");
  EXPECT_EQ(UnnamedSpecPrefix("/x/_tmp/a.json"), "tmp-a");
  EXPECT_NE(UnnamedSpecPrefix("/x/http_ingress/workflow-multi-1.json"),
            UnnamedSpecPrefix("/x/http_ingress/workflow-multi-2.json"));
}

TEST(ParseWorkflowFile, AetherCodePathsResolveAgainstTheSpecDirectory) {
  Scratch s;
  s.Touch("ex/parse.c");
  s.Touch("ex/lib/filter.rs");
  s.Touch("mod.wasm");
  std::string abs = s.Touch("abs/counter.wasm");
  std::string file = s.path() + "/ex/workflow.json";
  std::string text = R"({"name": "pipe", "functions": [
      {"name": "parse", "code": "parse.c", "output_mapping": {"out": "filter"}},
      {"name": "filter", "code": "./lib/filter.rs", "annotations": {"max_instances": 2}},
      {"name": "old", "code": "../mod.wasm"},
      {"name": "abs", "code": ")" +
                     abs + R"("},
      {"name": "deployed", "function": "echo"}],
    "resources": [{"name": "log", "class_type": "file-log"}]})";
  auto wf = ParseWorkflowFile(text, file);
  ASSERT_TRUE(wf.ok()) << wf.status().message();
  EXPECT_EQ(wf->dir, s.path() + "/ex");
  ASSERT_EQ(wf->code.size(), 4u);
  EXPECT_EQ(wf->code[0].index, 0u);
  EXPECT_EQ(wf->code[0].component, "parse");
  EXPECT_EQ(wf->code[0].field, "functions[0].code");
  EXPECT_EQ(wf->code[0].written, "parse.c");
  EXPECT_EQ(wf->code[0].path, s.path() + "/ex/parse.c");
  EXPECT_EQ(wf->code[0].kind, CodeKind::kC);
  EXPECT_EQ(wf->code[0].function, "pipe-parse");
  EXPECT_EQ(wf->code[1].path, s.path() + "/ex/lib/filter.rs");
  EXPECT_EQ(wf->code[1].kind, CodeKind::kRust);
  EXPECT_EQ(wf->code[2].path, s.path() + "/mod.wasm");
  EXPECT_EQ(wf->code[2].kind, CodeKind::kWasm);
  EXPECT_EQ(wf->code[3].path, abs);
  EXPECT_EQ(wf->code[3].index, 3u);

  json::object spec = RewriteSpec(*wf);
  const json::array& fns = spec.at("functions").as_array();
  EXPECT_EQ(ToJson(fns[0]),
            R"({"name":"parse","output_mapping":{"out":"filter"},"function":"pipe-parse"})");
  EXPECT_EQ(ToJson(fns[1]),
            R"({"name":"filter","annotations":{"max_instances":2},"function":"pipe-filter"})");
  EXPECT_EQ(ToJson(fns[4]), R"({"name":"deployed","function":"echo"})");
  EXPECT_EQ(ToJson(spec.at("resources")), R"([{"name":"log","class_type":"file-log"}])");
  EXPECT_EQ(spec.at("name"), "pipe");
  // The original is left alone.
  EXPECT_TRUE(wf->spec.at("functions").as_array()[0].as_object().contains("code"));
}

TEST(ParseWorkflowFile, EdgelessIncludeCodeFileIsRewrittenKeepingTheRest) {
  Scratch s;
  s.Touch("incr/incr.wasm");
  std::string file = s.path() + "/workflow.json";
  std::string text = R"({"functions": [{"name": "incr",
      "class_specification": {"id": "incr", "function_type": "RUST_WASM", "version": "0.1",
                              "include_code_file": "./incr/incr.wasm", "outputs": ["out"]},
      "output_mapping": {"out": "log"}, "annotations": {"init-payload": "7"}}],
    "resources": [], "annotations": {}})";
  auto wf = ParseWorkflowFile(text, file);
  ASSERT_TRUE(wf.ok()) << wf.status().message();
  ASSERT_EQ(wf->code.size(), 1u);
  EXPECT_EQ(wf->code[0].field, "functions[0].class_specification.include_code_file");
  EXPECT_EQ(wf->code[0].path, s.path() + "/incr/incr.wasm");
  // No spec name: the file names it.
  const std::string name = UnnamedSpecPrefix(file) + "-incr";
  EXPECT_EQ(wf->code[0].function, name);
  json::object fn = RewriteSpec(*wf).at("functions").as_array()[0].as_object();
  EXPECT_EQ(ToJson(fn.at("class_specification")),
            R"({"id":"incr","function_type":"RUST_WASM","version":"0.1","outputs":["out"]})");
  EXPECT_EQ(std::string(fn.at("function").as_string()), name);
  EXPECT_EQ(ToJson(fn.at("annotations")), R"({"init-payload":"7"})");
}

TEST(ParseWorkflowFile, EdgelessClassSpecificationCodeIsAPathToo) {
  Scratch s;
  s.Touch("f.rs");
  std::string file = s.path() + "/w.json";
  auto wf = ParseWorkflowFile(
      R"({"name": "w", "functions": [{"name": "f", "class_specification": {"id": "f", "code": "f.rs"}}]})",
      file);
  ASSERT_TRUE(wf.ok()) << wf.status().message();
  ASSERT_EQ(wf->code.size(), 1u);
  EXPECT_EQ(wf->code[0].field, "functions[0].class_specification.code");
  EXPECT_EQ(wf->code[0].kind, CodeKind::kRust);
  EXPECT_EQ(ToJson(RewriteSpec(*wf).at("functions")),
            R"([{"name":"f","class_specification":{"id":"f"},"function":"w-f"}])");
}

TEST(ParseWorkflowFile, BareFileNameResolvesAgainstTheCurrentDirectory) {
  Scratch s;
  s.Touch("f.wasm");
  std::error_code ec;
  fs::path old = fs::current_path();
  fs::current_path(s.path());
  auto wf = ParseWorkflowFile(R"({"functions": [{"name": "f", "code": "f.wasm"}]})", "wf.json");
  fs::current_path(old, ec);
  ASSERT_TRUE(wf.ok()) << wf.status().message();
  EXPECT_EQ(wf->dir, ".");
  EXPECT_EQ(wf->code[0].path, "f.wasm");
}

TEST(ParseWorkflowFile, SpecsWithoutCodeAreLeftAsTheyAre) {
  auto wf = ParseWorkflowFile(R"({"functions": [{"name": "a", "function": "echo"}]})", "w.json");
  ASSERT_TRUE(wf.ok()) << wf.status().message();
  EXPECT_TRUE(wf->code.empty());
  EXPECT_EQ(ToJson(RewriteSpec(*wf)), R"({"functions":[{"name":"a","function":"echo"}]})");
  auto empty = ParseWorkflowFile(R"({"resources": []})", "w.json");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(ToJson(RewriteSpec(*empty)), R"({"resources":[]})");
}

TEST(ParseWorkflowFile, ErrorsNameTheFileAndTheField) {
  Scratch s;
  s.Touch("d/ok.c");
  fs::create_directories(s.path() + "/d/dir.c");
  std::string file = s.path() + "/d/wf.json";
  std::string dir = s.path() + "/d/";
  EXPECT_EQ(ErrorOf("{\n  \"functions\": [,]\n}", "wf.json"),
            "wf.json: not JSON: line 2, column 17: syntax error");
  EXPECT_EQ(ErrorOf("", "wf.json").rfind("wf.json: not JSON: line 1, column 1: ", 0), 0u);
  EXPECT_EQ(ErrorOf("[1]", "wf.json"), "wf.json: a workflow spec must be a JSON object");
  EXPECT_EQ(ErrorOf(R"({"functions": {}})", "wf.json"), "wf.json: functions: must be an array");
  EXPECT_EQ(ErrorOf(R"({"functions": [1]})", "wf.json"),
            "wf.json: functions[0]: must be an object");
  EXPECT_EQ(ErrorOf(R"({"functions": [{"name": "a", "function": "x"},
                                      {"name": "p", "code": "./parse.c"}]})",
                    file),
            file + ": functions[1].code: no such file ./parse.c (looked for " + dir + "parse.c)");
  EXPECT_EQ(ErrorOf(R"({"functions": [{"name": "p", "code": "./no-such-file.c"}]})", "wf.json"),
            "wf.json: functions[0].code: no such file ./no-such-file.c");
  EXPECT_EQ(ErrorOf(R"({"functions": [{"name": "p", "class_specification":
                                      {"include_code_file": "gone.wasm"}}]})",
                    file),
            file +
                ": functions[0].class_specification.include_code_file: no such file "
                "gone.wasm (looked for " +
                dir + "gone.wasm)");
  EXPECT_EQ(ErrorOf(R"({"functions": [{"name": "p", "code": "dir.c"}]})", file),
            file + ": functions[0].code: dir.c is a directory, not a file");
  EXPECT_EQ(ErrorOf(R"({"functions": [{"name": "p", "code": "main.go"}]})", file),
            file + ": functions[0].code: unsupported file \"main.go\" (expected .wasm, .c or .rs)");
  EXPECT_EQ(ErrorOf(R"({"functions": [{"name": "p", "code": 3}]})", file),
            file + ": functions[0].code: must be a path (a non-empty string)");
  EXPECT_EQ(ErrorOf(R"({"functions": [{"name": "p", "code": "ok.c", "function": "x"}]})", file),
            file +
                ": functions[0]: give \"function\" (a deployed function) or a code path, not "
                "both");
  EXPECT_EQ(ErrorOf(R"({"functions": [{"name": "p", "code": "ok.c",
                        "class_specification": {"include_code_file": "ok.c"}}]})",
                    file),
            file +
                ": functions[0]: give \"code\" or \"class_specification.include_code_file\", "
                "not both");
  EXPECT_EQ(ErrorOf(R"({"functions": [{"name": "p", "class_specification":
                        {"include_code_file": "ok.c", "code": "ok.c"}}]})",
                    file),
            file +
                ": functions[0]: give \"class_specification.include_code_file\" or "
                "\"class_specification.code\", not both");
  EXPECT_EQ(ErrorOf(R"({"functions": [{"code": "ok.c"}]})", file),
            file + ": functions[0].name: required (the component's name)");
  EXPECT_EQ(ErrorOf(R"({"functions": [{"name": "Parse", "code": "ok.c"}]})", file),
            file +
                ": functions[0].name: invalid component name \"Parse\": use 1 to 63 characters "
                "a-z, 0-9, _ and -, starting with a letter or digit");
  EXPECT_EQ(ErrorOf(R"({"functions": [{"name": "p", "code": "ok.c"},
                                      {"name": "p", "code": "ok.c"}]})",
                    file),
            file + ": functions[1].name: duplicate component name \"p\"");
  EXPECT_EQ(ErrorOf(R"({"name": "../x", "functions": []})", file),
            file +
                ": name: invalid workflow name \"../x\": use 1 to 63 characters a-z, 0-9, _ "
                "and -, starting with a letter or digit");
  // A component called "manifest" (a reserved function name) is deployed
  // under its prefix, so it is fine.
  EXPECT_EQ(ErrorOf(R"({"functions": [{"name": "manifest", "code": "ok.c"}]})", file), "(ok)");
}

TEST(LoadWorkflowFile, UnreadableFilesAreUsageErrors) {
  Scratch s;
  auto missing = LoadWorkflowFile(s.path() + "/nope.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(missing.status().message(),
            "cannot read " + s.path() + "/nope.json: No such file or directory");
  auto dir = LoadWorkflowFile(s.path());
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.status().message(), s.path() + " is a directory, not a workflow spec");
  s.Touch("w.json", R"({"functions": []})");
  EXPECT_TRUE(LoadWorkflowFile(s.path() + "/w.json").ok());
}

TEST(TextPosition, CountsLinesAndColumns) {
  EXPECT_EQ(TextPosition("abc", 0), "line 1, column 1");
  EXPECT_EQ(TextPosition("ab\ncd", 4), "line 2, column 2");
  EXPECT_EQ(TextPosition("ab", 10), "line 1, column 3");
}

}  // namespace
}  // namespace aether::cli
