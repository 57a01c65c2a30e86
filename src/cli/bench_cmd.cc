// `aether bench`: a population of workflows applied and removed over time
// by an arrival model, each driven through its http-ingress, measured for
// blocking probability and latency (docs/cli.md, "aether bench"). This file
// wires the options to the parts: bench_arrivals (when), bench_workflows
// (what), bench_runner (the control plane and the load), bench_stats and
// bench_csv (the results).
#include <filesystem>
#include <random>
#include <thread>

#include "cli/bench_arrivals.h"
#include "cli/bench_csv.h"
#include "cli/bench_interrupt.h"
#include "cli/bench_runner.h"
#include "cli/bench_stats.h"
#include "cli/bench_workflows.h"
#include "cli/commands.h"
#include "cli/remote.h"
#include "cli/table.h"
#include "common/file_io.h"
#include "common/json_util.h"
#include "common/sha256.h"

namespace aether::cli {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using bench::Fixed;

constexpr size_t kMaxPayload = 1 << 20;  // an event's limit
constexpr auto kFunctionReadyLimit = std::chrono::seconds(60);

struct BenchArgs {
  RemoteFlags remote;
  std::string arrival_model = "poisson";
  bench::ArrivalOptions arrivals;
  std::string workload_trace;
  std::string wf_type = "single";
  std::string wf_spec;
  std::string chain_length;
  std::string function = "bench-relay";
  std::string wasm;
  std::string name_prefix;
  double rate = 10;
  size_t payload_size = 64;
  double ready_timeout_s = 10;
  double request_timeout_s = 5;
  bench::CsvOptions csv;
  bool verbose = false;
};

std::chrono::milliseconds Ms(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

Result<std::string> ReadFileText(const std::string& path, std::string_view what) {
  auto text = ReadWholeFile<std::string>(path);
  if (!text.ok()) return UsageError(std::string(what) + ": " + text.status().message());
  return std::move(text).value();
}

// build/bin/aether -> build/functions/workflow/relay.wasm, where the build
// puts functions/workflow/relay.c.
std::string DefaultRelayModule() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return "";
  fs::path p = exe.parent_path().parent_path() / "functions/workflow/relay.wasm";
  return fs::exists(p, ec) ? p.string() : "";
}

std::string RandomPrefix() {
  std::random_device rd;
  char buf[16];
  std::snprintf(buf, sizeof buf, "bench-%04x", static_cast<unsigned>(rd() & 0xffff));
  return buf;
}

// The usage checks, before anything is sent.
Status Prepare(BenchArgs& a, bench::RunConfig* c, std::optional<std::string>* template_text) {
  ASSIGN_OR_RETURN(a.arrivals.kind, bench::ParseArrivalKind(a.arrival_model));
  if (a.arrivals.kind == bench::ArrivalKind::kTrace) {
    if (a.workload_trace.empty()) {
      return UsageError("--arrival-model trace needs --workload-trace FILE");
    }
    ASSIGN_OR_RETURN(std::string text, ReadFileText(a.workload_trace, "--workload-trace"));
    ASSIGN_OR_RETURN(a.arrivals.trace, bench::ParseTrace(text, a.workload_trace));
  }
  ASSIGN_OR_RETURN(c->schedule, bench::Schedule(a.arrivals));
  ASSIGN_OR_RETURN(bench::WorkflowTypeArg type, bench::ParseWorkflowType(a.wf_type, a.wf_spec));
  if (type.template_text.has_value()) {
    *template_text = std::move(type.template_text);
    return OkStatus();
  }
  if (!a.chain_length.empty()) {
    if (type.type.kind != bench::WorkflowKind::kChain) {
      return UsageError("--chain-length is for --wf-type chain");
    }
    RETURN_IF_ERROR(bench::SetChainLength(a.chain_length, &type.type.chain));
  }
  if (!(a.rate >= 0)) return UsageError("--rate must be 0 (no load) or more requests/s");
  if (a.payload_size == 0 || a.payload_size > kMaxPayload) {
    return UsageError("--payload-size must be 1 to 1048576 bytes");
  }
  if (!(a.ready_timeout_s > 0) || !(a.request_timeout_s > 0)) {
    return UsageError("--ready-timeout and --request-timeout must be positive seconds");
  }
  if (a.name_prefix.empty()) a.name_prefix = RandomPrefix();
  if (a.wasm.empty() && type.type.kind != bench::WorkflowKind::kJsonSpec) {
    a.wasm = DefaultRelayModule();
  }
  c->duration_s = a.arrivals.duration_s;
  c->type = std::move(type.type);
  c->function = a.function;
  c->name_prefix = a.name_prefix;
  c->seed = a.arrivals.seed + 1000;  // as EDGELESS: not the arrival model's stream
  c->rate = a.rate;
  c->payload_size = a.payload_size;
  c->ready_timeout = Ms(a.ready_timeout_s);
  c->request_timeout = Ms(a.request_timeout_s);
  c->verbose = a.verbose;
  return OkStatus();
}

// The relay function: uploaded from `wasm` unless that version is deployed
// already (a new version would restart running instances), then waited
// for until an engine has it compiled, so that the first workflow's time
// to running is not a compile.
Status EnsureFunction(const Remote& remote, const std::string& name, const std::string& wasm) {
  const std::string path = "/api/functions/" + UrlEncode(name);
  ASSIGN_OR_RETURN(HttpResponse current,
                   remote.Send("GET", path, "", "application/json", std::chrono::seconds(10)));
  if (current.status != 200 && current.status != 404) return remote.ErrorFor(current);
  if (wasm.empty() && current.status == 404) {
    return NotFound("function " + name +
                    " is not deployed and no relay module was found: pass --wasm "
                    "build/functions/workflow/relay.wasm");
  }
  if (!wasm.empty()) {
    ASSIGN_OR_RETURN(std::string module, ReadFileText(wasm, "--wasm"));
    auto v = ParseJson(current.body);
    bool same = current.status == 200 && v.ok() && v->is_object() &&
                Field(v->as_object(), "sha256") == Sha256Hex(module);
    if (!same) {
      auto up = UploadModule(remote, name, module, "");
      if (!up.ok())
        return Status(up.status().code(), "deploying " + name + ": " + up.status().message());
    }
  }
  auto deadline = std::chrono::steady_clock::now() + kFunctionReadyLimit;
  while (std::chrono::steady_clock::now() < deadline) {
    ASSIGN_OR_RETURN(json::value f,
                     remote.Call("GET", path, {}, "application/json", std::chrono::seconds(10)));
    const json::value* nodes = f.is_object() ? f.as_object().if_contains("nodes") : nullptr;
    if (nodes != nullptr && nodes->is_array()) {
      for (const json::value& n : nodes->as_array()) {
        const json::value* ready = n.is_object() ? n.as_object().if_contains("ready") : nullptr;
        if (ready != nullptr && ready->is_bool() && ready->as_bool()) return OkStatus();
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return Unavailable("no engine has " + name + " ready after 60 s (is one joined? aether nodes)");
}

void PrintJson(bench::RunTotals& t) {
  auto spread = [](bench::LatencySamples& s) {
    return json::object{{"count", s.count()},      {"p50", s.Percentile(50)},
                        {"p90", s.Percentile(90)}, {"p99", s.Percentile(99)},
                        {"max", s.Max()},          {"mean", s.Mean()}};
  };
  json::object o{{"requested", t.requested},
                 {"accepted", t.accepted},
                 {"refused", t.refused},
                 {"not_ready", t.not_ready},
                 {"ended_pending", t.ended_pending},
                 {"blocking_probability", t.BlockingProbability()},
                 {"requests", t.requests},
                 {"ok", t.ok},
                 {"errors", t.errors},
                 {"seconds", t.seconds},
                 {"throughput", t.seconds > 0 ? static_cast<double>(t.ok) / t.seconds : 0.0},
                 {"latency_ms", spread(t.latency_ms)},
                 {"apply_ms", spread(t.apply_ms)},
                 {"ready_ms", spread(t.ready_ms)},
                 {"delete_failures", t.delete_failures}};
  std::printf("%s\n", ToJson(o).c_str());
}

int Bench(BenchArgs& a) {
  bench::RunConfig config;
  std::optional<std::string> template_text;
  if (Status st = Prepare(a, &config, &template_text); !st.ok()) return Report(st);
  if (template_text.has_value()) {
    std::fputs(template_text->c_str(), stdout);
    return 0;
  }
  auto remote = Remote::Resolve(a.remote);
  if (!remote.ok()) return Report(remote.status());
  // Reachable, and the token is good, before anything is created.
  auto probe =
      remote->Call("GET", "/api/workflows", {}, "application/json", std::chrono::seconds(10));
  if (!probe.ok()) return Report(probe.status());
  if (config.type.kind != bench::WorkflowKind::kJsonSpec) {
    if (Status st = EnsureFunction(*remote, a.function, a.wasm); !st.ok()) return Report(st);
  }
  std::unique_ptr<bench::CsvWriter> csv;
  if (!a.csv.path.empty()) {
    a.csv.seed = a.arrivals.seed;
    auto opened = bench::CsvWriter::Open(a.csv);
    if (!opened.ok()) return Report(opened.status());
    csv = std::move(opened).value();
  }

  bench::InterruptWatch watch;
  auto totals = bench::RunBench(*remote, config, csv.get(), watch.interrupted());
  Status closed = csv != nullptr ? csv->Close() : OkStatus();
  if (!totals.ok()) return Report(totals.status());
  if (a.remote.json) {
    PrintJson(*totals);
  } else {
    std::string title = "aether bench: " + std::string(bench::ArrivalKindName(a.arrivals.kind)) +
                        " arrivals, " + bench::Describe(config.type) + ", " +
                        Fixed(totals->seconds, 1) + " s, " + Fixed(a.rate, 1) +
                        " req/s per workflow, seed " + std::to_string(a.arrivals.seed);
    if (watch.interrupted().load()) title += " (interrupted)";
    bench::PrintSummary(*totals, title, stdout);
  }
  if (!closed.ok()) return Report(closed);
  if (totals->delete_failures > 0) return kExitError;
  return watch.interrupted().load() ? 130 : 0;
}

}  // namespace

void AddBenchCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App* cmd = app.add_subcommand(
      "bench",
      "Benchmark workflows: arrivals, blocking probability, latency (as EDGELESS's "
      "edgeless_benchmark)");
  AddRemoteFlags(cmd, &args->remote);
  BenchArgs& a = *args;
  cmd->add_option("--arrival-model", a.arrival_model,
                  "poisson, incremental, incr-and-keep, single or trace")
      ->capture_default_str();
  cmd->add_option("--duration", a.arrivals.duration_s, "Length of the run, s")
      ->capture_default_str();
  cmd->add_option("--warmup", a.arrivals.warmup_s, "incr-and-keep: add workflows this long, s")
      ->capture_default_str();
  cmd->add_option("--interarrival", a.arrivals.interarrival_s,
                  "Mean (poisson) or fixed time between workflow arrivals, s")
      ->capture_default_str();
  cmd->add_option("--lifetime", a.arrivals.lifetime_s,
                  "Mean (poisson) or fixed (incremental) lifetime of a workflow, s")
      ->capture_default_str();
  cmd->add_option("--seed", a.arrivals.seed, "Seed of every random draw")->capture_default_str();
  cmd->add_option("--workload-trace", a.workload_trace,
                  "trace: a file of \"arrival,end_time\" lines, s");
  cmd->add_option("--wf-type", a.wf_type,
                  "single, chain, map-reduce, json-spec; \"chain;template\", \"chain;FILE\", "
                  "\"map-reduce;template\", \"map-reduce;FILE\"")
      ->capture_default_str();
  cmd->add_option("--wf-spec", a.wf_spec, "json-spec: the spec (@WF_ID becomes 0, 1, ...)");
  cmd->add_option("--chain-length", a.chain_length, "chain: N or MIN-MAX functions");
  cmd->add_option("--function", a.function, "The relay function the generated workflows use")
      ->capture_default_str();
  cmd->add_option("--wasm", a.wasm,
                  "Deploy this module as --function first (default: "
                  "functions/workflow/relay.wasm of the build)");
  cmd->add_option("--name-prefix", a.name_prefix,
                  "Generated workflows are PREFIX-0, PREFIX-1, ... (default: bench-<4 hex>)");
  cmd->add_option("--rate", a.rate, "Requests/s to each running workflow's ingress; 0 = none")
      ->capture_default_str();
  cmd->add_option("--payload-size", a.payload_size, "Bytes per request")->capture_default_str();
  cmd->add_option("--ready-timeout", a.ready_timeout_s,
                  "A workflow not running this long after its apply counts as blocked, s")
      ->capture_default_str();
  cmd->add_option("--request-timeout", a.request_timeout_s, "Per ingress request, s")
      ->capture_default_str();
  cmd->add_option("--output", a.csv.path, "Write every event as a CSV row to FILE");
  cmd->add_flag("--append", a.csv.append, "Append to --output instead of overwriting it");
  cmd->add_option("--additional-fields", a.csv.additional_fields,
                  "Comma-separated values put first on every CSV row");
  cmd->add_option("--additional-header", a.csv.additional_header,
                  "Comma-separated column names of --additional-fields");
  cmd->add_flag("-v,--verbose", a.verbose, "A line per workflow event on stderr");
  cmd->callback([args, exit_code] { *exit_code = Bench(*args); });
}

}  // namespace aether::cli
