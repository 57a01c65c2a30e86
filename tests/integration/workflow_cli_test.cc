// `aether workflow apply|ls|show|rm` end to end: the real aether-control
// and one aether-engine on 127.0.0.1 (cluster.h), the CLI run as a child
// process against them, checking stdout, stderr and the exit code. The spec
// names a .c code path (compiled by the CLI with clang-14 and the SDK) and
// a function deployed beforehand.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <regex>
#include <thread>

#include "common/testing/http_error.h"
#include "common/testing/http_fetch.h"
#include "process.h"

namespace aether::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

// The source tree, for the SDK and the example functions.
const std::string kControlBin = std::string(AETHER_BIN_DIR) + "/aether-control";
const std::string kEngineBin = std::string(AETHER_BIN_DIR) + "/aether-engine";
const fs::path kSource = AETHER_SOURCE_DIR;

// The CLI in `cwd`, with `env` (process.h), allowing a minute: apply compiles.
CliRun Cli(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {},
           const std::string& cwd = "") {
  CliOptions o;
  o.env = env;
  o.cwd = cwd;
  o.timeout = std::chrono::seconds(60);
  return RunCli(args, o);
}

// The error contract: one line "aether: ..." on stderr; stdout empty unless
// `allow_stdout` (apply reports the uploads it made before failing).
void ExpectError(const CliRun& r, int exit_code, const std::string& needle,
                 bool allow_stdout = false) {
  EXPECT_EQ(r.exit_code, exit_code) << Show(r);
  if (!allow_stdout) {
    EXPECT_EQ(r.out, "") << Show(r);
  }
  EXPECT_EQ(r.err.rfind("aether: ", 0), 0u) << Show(r);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << Show(r);
  EXPECT_NE(r.err.find(needle), std::string::npos) << "expected \"" << needle << "\"\n" << Show(r);
}

// aether-control and one aether-engine joined to it, as cluster.h starts
// them (short timings), with the admin token at hand for the CLI.
class WorkflowCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteFile(dir_ / "control.toml",
              "[database]\npath = \"" + dir_ / "control/aether.db" + "\"\n" +
                  "[registry]\nnode_timeout = \"1s\"\nheartbeat_interval = \"200ms\"\n");
    auto control = ServerProcess::Start(
        kControlBin, {"--config", dir_ / "control.toml", "--port", "0"}, dir_ / "control.log");
    ASSERT_TRUE(control.ok()) << control.status().message();
    control_ = std::move(control).value();
    admin_ = Chomp(ReadFile(dir_ / "control/admin.token"));
    std::string join = Chomp(ReadFile(dir_ / "control/join.token"));
    WriteFile(dir_ / "engine.toml", "[runtime]\ndata_dir = \"" + dir_ / "engine" +
                                        "\"\noptimize = false\n" + "[control]\nurl = \"" +
                                        control_->url() + "\"\nnode_id = \"wf-cli-1\"\n" +
                                        "[auth]\njoin_token = \"" + join + "\"\n" +
                                        "[registry]\nheartbeat_interval = \"200ms\"\n");
    auto engine = ServerProcess::Start(
        kEngineBin, {"--config", dir_ / "engine.toml", "--port", "0"}, dir_ / "engine.log");
    ASSERT_TRUE(engine.ok()) << engine.status().message();
    engine_ = std::move(engine).value();
    fs::copy_file(kSource / "functions/workflow/counter.c", dir_ / "count.c");
  }

  static std::string Chomp(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
  }

  HttpResponse Api(std::string_view method, const std::string& path) {
    auto r = HttpFetch(method, control_->url() + path, {}, {{"Authorization", "Bearer " + admin_}});
    if (!r.ok()) {
      ADD_FAILURE() << method << " " << path << ": " << r.status().message();
      return HttpResponse{0, "", "", {}};
    }
    return std::move(r).value();
  }
  json::object ApiObject(const std::string& path) {
    boost::system::error_code ec;
    json::value v = json::parse(Api("GET", path).body, ec);
    return !ec && v.is_object() ? v.as_object() : json::object();
  }

  // The CLI against this control plane, the token in $AETHER_TOKEN.
  CliRun Wf(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
    args.insert(args.end(), {"--control", control_->url()});
    env["AETHER_TOKEN"] = admin_;
    return Cli(args, env);
  }

  std::string Spec(const std::string& name, const std::string& body) {
    WriteFile(dir_ / name, body);
    return dir_ / name;
  }

  TempDir dir_;
  std::unique_ptr<ServerProcess> control_;  // stopped by PID on destruction
  std::unique_ptr<ServerProcess> engine_;
  std::string admin_;
  const std::string sdk_ = (kSource / "functions/sdk").string();
};

constexpr const char* kSpec = R"({
  "name": "clitest",
  "functions": [
    {"name": "count", "code": "./count.c", "output_mapping": {"out": "echo"},
     "annotations": {"init_payload": "5"}},
    {"name": "echo", "function": "wfecho"}
  ],
  "resources": [
    {"name": "ingress", "class_type": "http-ingress", "configurations": {"path": "in"},
     "output_mapping": {"new_request": "echo"}}
  ]
})";

TEST_F(WorkflowCliTest, ApplyListShowRemove) {
  CliRun deploy = Wf({"deploy", "wfecho", std::string(AETHER_GUEST_DIR) + "/wf_echo.wasm"});
  ASSERT_EQ(deploy.exit_code, 0) << Show(deploy);
  std::string spec = Spec("workflow.json", kSpec);

  // --dry-run builds, uploads nothing, and shows the rewritten spec.
  CliRun dry = Wf({"workflow", "apply", spec, "--sdk", sdk_, "--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << Show(dry);
  EXPECT_NE(dry.out.find("built " + dir_ / "count.c"), std::string::npos) << dry.out;
  EXPECT_NE(dry.out.find(R"("function":"clitest-count")"), std::string::npos) << dry.out;
  EXPECT_EQ(dry.out.find("count.c\"}"), std::string::npos) << "no code path left: " << dry.out;
  EXPECT_TRUE(IsError(Api("GET", "/api/functions/clitest-count"), 404, "not_found"));

  CliRun apply = Wf({"workflow", "apply", spec, "--sdk", sdk_});
  ASSERT_EQ(apply.exit_code, 0) << Show(apply);
  EXPECT_EQ(apply.err, "");
  EXPECT_TRUE(std::regex_search(
      apply.out,
      std::regex("deployed clitest-count version 1 \\(sha256 [0-9a-f]{12}, [0-9.]+ KB\\) "
                 "from .*/count.c\n")))
      << apply.out;
  EXPECT_TRUE(std::regex_search(
      apply.out, std::regex("\nworkflow clitest: (running|pending|degraded)( \\(.*\\))?\n")))
      << apply.out;
  EXPECT_TRUE(std::regex_search(
      apply.out, std::regex("\ningress  http://127\\.0\\.0\\.1:[0-9]+/wf/clitest/in\n")))
      << apply.out;
  EXPECT_EQ(ApiObject("/api/functions/clitest-count")["name"], "clitest-count");

  // The same name again: the control plane's 409, after an unchanged module.
  CliRun again = Wf({"workflow", "apply", spec, "--sdk", sdk_});
  ExpectError(again, 1, "clitest", /*allow_stdout=*/true);
  EXPECT_NE(again.out.find("unchanged clitest-count version 1"), std::string::npos) << again.out;

  CliRun ls = Wf({"workflow", "ls"});
  ASSERT_EQ(ls.exit_code, 0) << Show(ls);
  EXPECT_EQ(ls.out.rfind("ID ", 0), 0u) << ls.out;
  EXPECT_NE(ls.out.find("COMPONENTS   INSTANCES   CREATED"), std::string::npos) << ls.out;
  EXPECT_TRUE(std::regex_search(
      ls.out, std::regex("\nclitest +clitest +(running|pending|degraded) +3 +\\d+ +\\d+s ago\n")))
      << ls.out;
  CliRun ls_json = Wf({"workflow", "ls", "--json"});
  ASSERT_EQ(ls_json.exit_code, 0) << Show(ls_json);
  EXPECT_EQ(json::parse(ls_json.out).at("workflows").as_array().size(), 1u) << ls_json.out;

  CliRun show = Wf({"workflow", "show", "clitest"});
  ASSERT_EQ(show.exit_code, 0) << Show(show);
  EXPECT_EQ(show.out.rfind("id:       clitest\nname:     clitest\nstate:    ", 0), 0u) << show.out;
  EXPECT_TRUE(std::regex_search(show.out, std::regex("\ncreated:  \\d{4}-\\d\\d-\\d\\d ")))
      << show.out;
  EXPECT_NE(show.out.find("\nINSTANCE "), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("EVENTS   FAILURES   RESTARTS   LAST ERROR"), std::string::npos)
      << show.out;
  for (const char* instance : {"clitest/count/0", "clitest/echo/0", "clitest/ingress/0"}) {
    EXPECT_NE(show.out.find(std::string("\n") + instance + " "), std::string::npos) << show.out;
  }
  EXPECT_TRUE(std::regex_search(show.out, std::regex("\ningress  http://[0-9.:]+/wf/clitest/in\n")))
      << show.out;
  CliRun show_json = Wf({"workflow", "show", "clitest", "--json"});
  ASSERT_EQ(show_json.exit_code, 0) << Show(show_json);
  json::value shown = json::parse(show_json.out);
  EXPECT_EQ(shown.at("id"), "clitest");
  EXPECT_EQ(shown.at("instances").as_array().size(), 3u);
  // The control plane got a spec naming the deployed function, not the file.
  EXPECT_NE(json::serialize(shown.at("spec")).find("clitest-count"), std::string::npos)
      << show_json.out;

  CliRun rm = Wf({"workflow", "rm", "clitest"});
  ASSERT_EQ(rm.exit_code, 0) << Show(rm);
  EXPECT_EQ(rm.out, "deleted workflow clitest\n");
  ExpectError(Wf({"workflow", "rm", "clitest"}), 1, "no workflow clitest");
  ExpectError(Wf({"workflow", "show", "clitest"}), 1, "no workflow clitest");
  CliRun empty = Wf({"workflow", "ls"});
  EXPECT_EQ(empty.out, "no workflows (try: aether workflow apply FILE)\n") << Show(empty);

  // Applying again after rm reuses the uploaded module (no new version).
  CliRun reapply = Wf({"workflow", "apply", spec, "--sdk", sdk_, "--json"});
  ASSERT_EQ(reapply.exit_code, 0) << Show(reapply);
  EXPECT_EQ(json::parse(reapply.out).at("id"), "clitest") << reapply.out;
  EXPECT_EQ(ApiObject("/api/functions/clitest-count")["version"], 1) << "no new version";
  EXPECT_EQ(Wf({"workflow", "rm", "clitest"}).exit_code, 0);
}

TEST_F(WorkflowCliTest, EdgelessSpecWithAWasmPathAndNoName) {
  fs::copy_file(std::string(AETHER_GUEST_DIR) + "/wf_echo.wasm", dir_ / "incr.wasm");
  std::string spec = Spec("edgeless.json", R"({
    "functions": [{"name": "incr",
      "class_specification": {"id": "incr", "function_type": "RUST_WASM", "version": "0.1",
                              "include_code_file": "./incr.wasm", "outputs": ["out"]},
      "output_mapping": {}, "annotations": {"init-payload": "x"}}],
    "resources": [], "annotations": {}})");
  CliRun apply = Wf({"workflow", "apply", spec});
  ASSERT_EQ(apply.exit_code, 0) << Show(apply);
  // No name: the file names the module, "<directory>-<file stem>-incr"
  // (another file's "incr" is another function).
  EXPECT_TRUE(std::regex_search(apply.out,
                                std::regex("deployed [a-z0-9][a-z0-9_-]*-edgeless-incr version 1")))
      << apply.out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(apply.out, m, std::regex("workflow (wf-[0-9a-f]{8}): ")))
      << apply.out;
  CliRun rm = Wf({"workflow", "rm", m[1]});
  EXPECT_EQ(rm.exit_code, 0) << Show(rm);

  // As EDGELESS reads its files: fields and configuration keys Aether does
  // not know are ignored, each a warning on stderr (and in the API's
  // answer); the same in an Aether-shaped spec is an error.
  std::string lenient = Spec("lenient.json", R"({
    "functions": [{"name": "incr", "colour": "red",
      "class_specification": {"id": "incr", "function_type": "RUST_WASM", "version": "0.1",
                              "include_code_file": "./incr.wasm", "outputs": ["out"]},
      "output_mapping": {"out": "log"}}],
    "resources": [{"name": "log", "class_type": "file-log",
                   "configurations": {"add-source-id": "true", "rotate": "daily"}}]})");
  CliRun warned = Wf({"workflow", "apply", lenient});
  ASSERT_EQ(warned.exit_code, 0) << Show(warned);
  EXPECT_NE(
      warned.err.find("warning: " + lenient + ": functions[0].colour: unknown field, ignored"),
      std::string::npos)
      << warned.err;
  EXPECT_NE(warned.err.find("resources[0].configurations.rotate: unknown configuration key, "
                            "ignored"),
            std::string::npos)
      << warned.err;
  ASSERT_TRUE(std::regex_search(warned.out, m, std::regex("workflow (wf-[0-9a-f]{8}): ")))
      << warned.out;
  EXPECT_EQ(Wf({"workflow", "rm", m[1]}).exit_code, 0);
  std::string strict = Spec("strict.json", R"({
    "functions": [{"name": "incr", "function": "incr", "colour": "red"}]})");
  CliRun refused = Wf({"workflow", "apply", strict});
  EXPECT_EQ(refused.exit_code, 1) << Show(refused);
  EXPECT_NE(refused.err.find("functions[0].colour: unknown field"), std::string::npos)
      << refused.err;
}

TEST_F(WorkflowCliTest, ServerSideErrors) {
  // A compile error uploads nothing.
  WriteFile(dir_ / "broken.c", "int f(void) { return nope; }\n");
  std::string broken = Spec("broken.json", R"({"functions": [{"name": "b", "code": "broken.c"}]})");
  EXPECT_EQ(Wf({"workflow", "apply", broken, "--sdk", sdk_}).exit_code, 1);
  HttpResponse listed = Api("GET", "/api/functions");  // "<dir>-broken-b" would be its name
  EXPECT_EQ(listed.body.find("-broken-b\""), std::string::npos) << "nothing uploaded";

  // The control plane's validation error, prefixed with the spec file.
  std::string unknown = Spec("unknown.json", R"({"functions": [
      {"name": "e", "function": "nosuchfunction"}]})");
  CliRun invalid = Wf({"workflow", "apply", unknown});
  ExpectError(invalid, 1, unknown + ": functions[0]");
  EXPECT_NE(invalid.err.find("nosuchfunction"), std::string::npos) << Show(invalid);

  ExpectError(Wf({"workflow", "rm", "nope"}), 1, "no workflow nope");
  ExpectError(Wf({"workflow", "show", "nope"}), 1, "no workflow nope");
  CliRun wrong = Cli({"workflow", "ls", "--control", control_->url(), "--token", "wrong"});
  ExpectError(wrong, 1, "the token came from --token");
}

// Errors found before anything is sent: no control plane needed (port 1:
// a request would fail with "cannot reach", which no check below expects).
class WorkflowCliLocalTest : public ::testing::Test {
 protected:
  CliRun Local(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
    args.insert(args.end(), {"--control", "http://127.0.0.1:1", "--token", "t"});
    return Cli(args, env);
  }
  std::string Spec(const std::string& name, const std::string& body) {
    WriteFile(dir_ / name, body);
    return dir_ / name;
  }
  TempDir dir_;
  const std::string sdk_ = (kSource / "functions/sdk").string();
};

TEST_F(WorkflowCliLocalTest, BadFilesAreOneLineErrors) {
  ExpectError(Local({"workflow", "apply", dir_ / "missing.json"}), 2,
              "cannot read " + dir_ / "missing.json" + ": No such file or directory");
  std::string bad_json = Spec("bad.json", "{\n  \"functions\": [,]\n}\n");
  ExpectError(Local({"workflow", "apply", bad_json}), 2,
              bad_json + ": not JSON: line 2, column 17");
  std::string missing_code = Spec(
      "missing-code.json",
      R"({"functions": [{"name": "a", "function": "x"}, {"name": "p", "code": "./parse.c"}]})");
  ExpectError(Local({"workflow", "apply", missing_code}), 2,
              missing_code + ": functions[1].code: no such file ./parse.c (looked for " +
                  dir_ / "parse.c)");
  // A spec in the current directory: the path needs no explanation.
  CliRun here = Cli({"workflow", "apply", "missing-code.json", "--control", "http://127.0.0.1:1"},
                    {}, dir_.path());
  ExpectError(here, 2, "aether: missing-code.json: functions[1].code: no such file ./parse.c\n");
  std::string edgeless = Spec("edgeless.json", R"({"functions": [{"name": "p",
      "class_specification": {"id": "p", "include_code_file": "p.wasm"}}]})");
  ExpectError(Local({"workflow", "apply", edgeless}), 2,
              edgeless +
                  ": functions[0].class_specification.include_code_file: no such file "
                  "p.wasm");
  std::string go = Spec("go.json", R"({"functions": [{"name": "p", "code": "main.go"}]})");
  WriteFile(dir_ / "main.go", "package main\n");
  ExpectError(Local({"workflow", "apply", go}), 2,
              go + ": functions[0].code: unsupported file \"main.go\" (expected .wasm, .c or .rs)");
  std::string both =
      Spec("both.json", R"({"functions": [{"name": "p", "code": "main.go", "function": "f"}]})");
  ExpectError(Local({"workflow", "apply", both}), 2,
              both +
                  ": functions[0]: give \"function\" (a deployed function) or a code path, "
                  "not both");
  ExpectError(Local({"workflow", "show", "../x"}), 2, "invalid workflow id \"../x\"");
  ExpectError(Local({"workflow", "ls"}), 1, "cannot reach the control plane at http://127.0.0.1:1");
  CliRun usage = Cli({"workflow", "apply"});
  EXPECT_EQ(usage.exit_code, 2) << Show(usage);
  EXPECT_EQ(usage.err.rfind("aether: ", 0), 0u) << Show(usage);
}

TEST_F(WorkflowCliLocalTest, BuildFailures) {
  fs::copy_file(kSource / "functions/workflow/counter.c", dir_ / "count.c");
  std::string c_spec = Spec("c.json", R"({"functions": [{"name": "count", "code": "count.c"}]})");
  // No compiler on PATH.
  ExpectError(Local({"workflow", "apply", c_spec, "--sdk", sdk_}, {{"PATH", dir_ / "nobin"}}), 1,
              c_spec + ": functions[0].code: cannot compile count.c: clang-14 is not installed");
  // --sdk and $AETHER_SDK must hold aether.h.
  ExpectError(Local({"workflow", "apply", c_spec, "--sdk", dir_.path()}), 2,
              "--sdk " + dir_.path() + ": no aether.h in that directory");
  ExpectError(Local({"workflow", "apply", c_spec}, {{"AETHER_SDK", dir_.path()}}), 2,
              "AETHER_SDK=" + dir_.path() + ": no aether.h in that directory");

  // A compile error: the summary line, then the compiler's output; nothing
  // is sent (the control plane on port 1 would be "cannot reach").
  WriteFile(dir_ / "broken.c", "int f(void) { return nope; }\n");
  std::string broken = Spec("broken.json", R"({"functions": [
      {"name": "ok", "code": "count.c"}, {"name": "b", "code": "broken.c"}]})");
  CliRun compile = Local({"workflow", "apply", broken, "--sdk", sdk_});
  EXPECT_EQ(compile.exit_code, 1) << Show(compile);
  EXPECT_EQ(compile.out, "");
  EXPECT_EQ(compile.err.rfind("aether: " + broken +
                                  ": functions[1].code: compiling broken.c failed: clang-14 "
                                  "exited with status 1:\n",
                              0),
            0u)
      << Show(compile);
  EXPECT_NE(compile.err.find("use of undeclared identifier 'nope'"), std::string::npos)
      << Show(compile);
}

TEST_F(WorkflowCliLocalTest, DryRunBuildsAndPrintsTheSpecToPost) {
  fs::copy_file(kSource / "functions/workflow/counter.c", dir_ / "count.c");
  fs::copy_file(std::string(AETHER_GUEST_DIR) + "/wf_echo.wasm", dir_ / "echo.wasm");
  std::string spec = Spec("w.json", R"({"name": "dry", "functions": [
      {"name": "count", "code": "count.c", "output_mapping": {"out": "echo"}},
      {"name": "echo", "class_specification": {"id": "echo", "function_type": "RUST_WASM",
                                               "include_code_file": "echo.wasm"}}]})");
  // The SDK from $AETHER_SDK; no control plane is contacted.
  CliRun dry =
      Cli({"workflow", "apply", spec, "--dry-run", "--json", "--control", "http://127.0.0.1:1"},
          {{"AETHER_SDK", sdk_}});
  ASSERT_EQ(dry.exit_code, 0) << Show(dry);
  EXPECT_EQ(dry.err, "");
  EXPECT_EQ(dry.out,
            R"({"name":"dry","functions":[{"name":"count","output_mapping":{"out":"echo"},)"
            R"("function":"dry-count"},{"name":"echo","class_specification":{"id":"echo",)"
            R"("function_type":"RUST_WASM"},"function":"dry-echo"}]})"
            "\n");
  CliRun human = Cli({"workflow", "apply", spec, "--dry-run", "--sdk", sdk_});
  ASSERT_EQ(human.exit_code, 0) << Show(human);
  EXPECT_TRUE(std::regex_search(
      human.out, std::regex("^built " + dir_ / "count.c" + " \\([0-9.]+ KB\\) for dry-count\n")))
      << human.out;
}

}  // namespace
}  // namespace aether::testing
