// `aether bench` end to end: the real aether-control and one aether-engine
// (cluster.h), the CLI run as a child process for a few seconds with the
// single and chain workflow types, checking the summary, the CSV and that
// no workflow is left behind — also when the run is stopped by a signal.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "cluster.h"
#include "workflows.h"

namespace aether::testing {
namespace {

const std::string kRelay = std::string(AETHER_FUNCTIONS_DIR) + "/workflow/relay.wasm";
const std::string kAether = std::string(AETHER_BIN_DIR) + "/aether";

// metric -> rows, from a CSV whose header is `header`.
std::map<std::string, std::vector<std::vector<std::string>>> ReadCsv(const std::string& path,
                                                                     const std::string& header) {
  std::map<std::string, std::vector<std::vector<std::string>>> rows;
  std::vector<std::string> lines = FileLines(path);
  EXPECT_FALSE(lines.empty());
  if (lines.empty()) return rows;
  EXPECT_EQ(lines[0], header);
  size_t columns = std::count(header.begin(), header.end(), ',') + 1;
  size_t metric = columns - 3;
  for (size_t i = 1; i < lines.size(); ++i) {
    std::vector<std::string> cells;
    size_t start = 0;
    for (size_t c = 0; c + 1 < columns; ++c) {  // the value (last) may hold commas
      size_t comma = lines[i].find(',', start);
      cells.push_back(lines[i].substr(start, comma - start));
      start = comma == std::string::npos ? lines[i].size() : comma + 1;
    }
    cells.push_back(lines[i].substr(start));
    rows[cells[metric]].push_back(cells);
  }
  return rows;
}

// The VALUE of a row of the summary table ("METRIC   VALUE").
std::string SummaryValue(const std::string& out, const std::string& metric) {
  size_t at = out.find("\n" + metric + "  ");
  if (at == std::string::npos) return "(no row " + metric + ")";
  size_t start = out.find_first_not_of(' ', at + 1 + metric.size());
  return out.substr(start, out.find('\n', start) - start);
}

class BenchCliTest : public ::testing::Test {
 protected:
  size_t WorkflowCount() {
    json::object list = Obj(control_.Call("GET", "/api/workflows"));
    return list.contains("workflows") ? list["workflows"].as_array().size() : 999;
  }

  Control control_;
  Engine engine_{control_, "bench-1"};
  TempDir dir_;
};

TEST_F(BenchCliTest, SingleWorkflowUnderLoadWritesCsvAndCleansUp) {
  std::string csv = dir_ / "single.csv";
  CliRun r = ControlCli(
      control_, {"bench", "--arrival-model", "single", "--duration", "3", "--wf-type", "single",
                 "--rate", "20", "--wasm", kRelay, "--name-prefix", "bt-single", "--output", csv,
                 "--additional-fields", "exp1", "--additional-header", "experiment"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(SummaryValue(r.out, "workflows requested"), "1") << Show(r);
  EXPECT_EQ(SummaryValue(r.out, "workflows accepted"), "1") << Show(r);
  EXPECT_EQ(SummaryValue(r.out, "blocking probability"), "0.0000") << Show(r);
  EXPECT_EQ(SummaryValue(r.out, "request errors"), "0") << Show(r);
  EXPECT_EQ(SummaryValue(r.out, "latency ms").rfind("p50 ", 0), 0u) << Show(r);
  auto rows = ReadCsv(csv, "experiment,seed,timestamp,elapsed_s,metric,target,value");
  ASSERT_EQ(rows["workflow:accepted"].size(), 1u);
  EXPECT_EQ(rows["workflow:accepted"][0][0], "exp1");
  EXPECT_EQ(rows["workflow:accepted"][0][1], "42");
  EXPECT_EQ(rows["workflow:accepted"][0][5], "bt-single-0");
  EXPECT_EQ(rows["workflow:ready"].size(), 1u);
  EXPECT_EQ(rows["workflow:end"].size(), 1u);
  EXPECT_GE(rows["request:latency_ms"].size(), 10u);
  EXPECT_EQ(rows["request:error"].size(), 0u);
  EXPECT_EQ(WorkflowCount(), 0u);
}

TEST_F(BenchCliTest, IncrementalChainsComeAndGo) {
  std::string csv = dir_ / "chain.csv";
  // No --wasm: the module is found next to the binary (build/functions/).
  CliRun r = ControlCli(control_, {"bench", "--arrival-model", "incremental", "--interarrival",
                                   "1",     "--lifetime",      "1.5",         "--duration",
                                   "3.5",   "--wf-type",       "chain",       "--chain-length",
                                   "2-3",   "--rate",          "10",          "--seed",
                                   "5",     "--name-prefix",   "bt-chain",    "--output",
                                   csv});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_NE(r.out.find("chain of 2-3 functions"), std::string::npos) << Show(r);
  EXPECT_EQ(SummaryValue(r.out, "workflows requested"), "4") << Show(r);
  EXPECT_EQ(SummaryValue(r.out, "blocking probability"), "0.0000") << Show(r);
  auto rows = ReadCsv(csv, "seed,timestamp,elapsed_s,metric,target,value");
  EXPECT_EQ(rows["workflow:request"].size(), 4u);
  EXPECT_EQ(rows["workflow:accepted"].size(), 4u);
  EXPECT_EQ(rows["workflow:refused"].size(), 0u);
  for (const auto& row : rows["workflow:request"]) {
    EXPECT_TRUE(row[5] == "3" || row[5] == "4") << row[5];  // 2-3 functions and the ingress
  }
  EXPECT_GE(rows["request:latency_ms"].size(), 4u);
  EXPECT_EQ(WorkflowCount(), 0u);
}

TEST_F(BenchCliTest, SignalStopsTheRunAndDeletesItsWorkflows) {
  auto bench = ServerProcess::StartWhen(
      kAether,
      {"bench", "--control", control_.url(), "--token", control_.admin(), "--arrival-model",
       "single", "--duration", "60", "--rate", "5", "--wasm", kRelay, "--name-prefix", "bt-sig",
       "--verbose"},
      dir_ / "bench.log",
      [](const std::string& log) -> uint16_t {
        return log.find("workflow:ready") != std::string::npos ? 1 : 0;
      },
      std::chrono::seconds(30));
  ASSERT_TRUE(bench.ok()) << bench.status().message();
  EXPECT_EQ(WorkflowCount(), 1u);
  EXPECT_EQ((*bench)->Stop(std::chrono::seconds(15)), 130) << (*bench)->Log();
  EXPECT_NE((*bench)->Log().find("(interrupted)"), std::string::npos) << (*bench)->Log();
  EXPECT_EQ(WorkflowCount(), 0u);
}

// A workflow no node can host is accepted as pending: blocked after the
// ready timeout, and deleted.
TEST_F(BenchCliTest, UnplaceableJsonSpecIsBlocked) {
  ASSERT_EQ(control_
                .Call("PUT", "/api/functions/relay", ReadFile(kRelay),
                      {{"Content-Type", "application/wasm"}})
                .status,
            201);
  WriteFile(dir_ / "spec.json", R"({"name": "bt-json-@WF_ID", "functions": [
      {"name": "f", "function": "relay", "annotations": {"label_match_all": ["zone=mars"]}}]})");
  std::string csv = dir_ / "json.csv";
  CliRun r = ControlCli(
      control_, {"bench", "--arrival-model", "incremental", "--interarrival", "0.5", "--lifetime",
                 "10", "--duration", "1.5", "--wf-type", "json-spec", "--wf-spec",
                 dir_ / "spec.json", "--ready-timeout", "0.7", "--output", csv});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(SummaryValue(r.out, "workflows requested"), "3") << Show(r);
  EXPECT_EQ(SummaryValue(r.out, "workflows accepted"), "3") << Show(r);
  EXPECT_EQ(SummaryValue(r.out, "not running in time"), "2") << Show(r);  // the third ends first
  EXPECT_EQ(SummaryValue(r.out, "ended before running"), "1") << Show(r);
  auto rows = ReadCsv(csv, "seed,timestamp,elapsed_s,metric,target,value");
  ASSERT_EQ(rows["workflow:not-ready"].size(), 2u);
  EXPECT_EQ(rows["workflow:not-ready"][0][4], "bt-json-0");
  EXPECT_NE(rows["workflow:not-ready"][0][5].find("zone=mars"), std::string::npos);
  EXPECT_EQ(WorkflowCount(), 0u);
}

TEST_F(BenchCliTest, BadInputsAreOneLineAndNonZero) {
  struct Case {
    std::vector<std::string> args;
    int exit_code;
    std::string needle;
  } cases[] = {
      {{"--arrival-model", "bursty"}, 2, "unknown arrival model"},
      {{"--wf-type", "pipeline"}, 2, "unknown workflow type"},
      {{"--duration", "0"}, 2, "--duration must be a positive"},
      {{"--interarrival", "-1"}, 2, "--interarrival must be a positive"},
      {{"--wf-type", "json-spec", "--wf-spec", dir_ / "missing.json"},
       2,
       "cannot read the workflow spec"},
      {{"--arrival-model", "trace", "--workload-trace", dir_ / "none.csv"}, 2, "cannot read"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"bench"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    CliRun r = ControlCli(control_, args);
    EXPECT_EQ(r.exit_code, c.exit_code) << Show(r);
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << Show(r);
    EXPECT_NE(r.err.find(c.needle), std::string::npos) << c.needle << "\n" << Show(r);
  }
  WriteFile(dir_ / "bad.csv", "0,1\n2,x\n");
  CliRun trace = ControlCli(
      control_, {"bench", "--arrival-model", "trace", "--workload-trace", dir_ / "bad.csv"});
  EXPECT_EQ(trace.exit_code, 2) << Show(trace);
  EXPECT_NE(trace.err.find("bad.csv:2:"), std::string::npos) << Show(trace);

  // Nothing listens on port 1: a prompt one-line failure, no hang.
  CliOptions o;
  o.timeout = std::chrono::seconds(20);
  CliRun down = RunCli({"bench", "--control", "http://127.0.0.1:1", "--token", "x"}, o);
  EXPECT_EQ(down.exit_code, 1) << Show(down);
  EXPECT_NE(down.err.find("cannot reach the control plane"), std::string::npos) << Show(down);
  EXPECT_EQ(WorkflowCount(), 0u);
}

TEST_F(BenchCliTest, TemplateIsPrinted) {
  CliRun t = ControlCli(control_, {"bench", "--wf-type", "map-reduce;template"});
  ASSERT_EQ(t.exit_code, 0) << Show(t);
  EXPECT_NE(t.out.find("\"max_fan_out\": 3"), std::string::npos) << Show(t);
}

}  // namespace
}  // namespace aether::testing
