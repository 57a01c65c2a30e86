// aether-engine end to end: the real binary on 127.0.0.1 (a free port),
// serving the test guests from a temp functions_dir.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <filesystem>
#include <future>
#include <thread>

#include "common/testing/http_error.h"
#include "local_engine.h"
#include "process.h"

namespace aether::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

const std::string& kEngine = kEngineBinary;
std::string Guest(const std::string& name) { return GuestPath(name); }

double MsSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

using Engine = LocalEngine;

TEST(EngineIntegration, ExecutesGuests) {
  Engine e({"hello", "echo", "json_input", "env", "counter"});
  ASSERT_TRUE(e.ok());
  HttpResponse r = e.Call("hello");
  EXPECT_EQ(r.status, 200);
  json::object o = Body(r);
  EXPECT_EQ(o["output"].as_string(), "Hello, World!\n");
  EXPECT_TRUE(o["execution_time_ms"].is_number());
  EXPECT_GT(o["memory_used_kb"].as_int64(), 0);

  EXPECT_EQ(Output(e.Call("echo", R"("line 1\nline \"2\" é")")), "line 1\nline \"2\" é");
  EXPECT_EQ(Output(e.Call("echo")), "");
  // A non-string input arrives as compact JSON text.
  EXPECT_EQ(Output(e.Call("json_input", R"({ "a" : [1, 2.5, "x"], "b": null })")),
            R"({"got": {"a":[1,2.5,"x"],"b":null}})");
  EXPECT_EQ(Output(e.Call("json_input", "42")), R"({"got": 42})");
  EXPECT_EQ(Output(e.Call("env")), "GREETING unset\nargv0=env\n");
  // Fresh memory per request.
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Output(e.Call("counter")), "1\n");

  json::object h = Body(e.Get("/health"));
  EXPECT_EQ(h["status"].as_string(), "ok");
  EXPECT_EQ(h["functions"].as_int64(), 5);
  EXPECT_GE(h["workers"].as_int64(), 1);
  EXPECT_TRUE(h["version"].is_string());

  HttpResponse m = e.Get("/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_NE(m.body.find(R"(aether_requests_total{function="counter",status="200"} 5)"),
            std::string::npos)
      << m.body;
  EXPECT_NE(m.body.find("aether_compile_seconds_bucket{tier=\"fast\""), std::string::npos);
  EXPECT_NE(m.body.find("aether_execution_seconds_count{function=\"hello\"} 1"), std::string::npos);
}

// A relative [runtime] data_dir: the confined compiler process works in
// job directories under it, from a working directory of its own — it
// failed with "cannot confine itself: <relative path>: No such file".
TEST(EngineIntegration, RelativeDataDirCompiles) {
  Engine e({"hello"}, "", false, /*relative_data_dir=*/true);
  ASSERT_TRUE(e.ok());
  HttpResponse r = e.Call("hello");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Output(r), "Hello, World!\n");
}

TEST(EngineIntegration, FailuresSayWhatHappened) {
  Engine e({"fail_stderr", "exit_code", "trap_unreachable", "trap_div_zero", "trap_int_overflow",
            "trap_conversion", "trap_oob", "trap_indirect", "stack_overflow", "big_init", "grow",
            "hello"},
           "memory_limit = \"16MB\"");
  ASSERT_TRUE(e.ok());
  HttpResponse r = e.Call("fail_stderr");
  EXPECT_EQ(r.status, 500);
  json::object o = Body(r);
  EXPECT_EQ(o["code"].as_string(), "exit");
  EXPECT_EQ(o["exit_code"].as_int64(), 3);
  EXPECT_EQ(o["stderr"].as_string(), "something went wrong\n");
  EXPECT_NE(std::string(o["error"].as_string()).find("something went wrong"), std::string::npos);
  EXPECT_EQ(Body(e.Call("exit_code", "\"7\""))["exit_code"].as_int64(), 7);

  const std::pair<const char*, const char*> traps[] = {
      {"trap_unreachable", "unreachable"},
      {"trap_div_zero", "integer_divide_by_zero"},
      {"trap_int_overflow", "integer_overflow"},
      {"trap_conversion", "invalid_conversion_to_integer"},
      {"trap_oob", "out_of_bounds"},
      {"trap_indirect", "indirect_call_type_mismatch"},
      {"stack_overflow", "stack_exhausted"},
  };
  for (const auto& [fn, kind] : traps) {
    r = e.Call(fn);
    EXPECT_EQ(r.status, 500) << fn;
    o = Body(r);
    EXPECT_EQ(o["code"].as_string(), "trap") << fn << ": " << r.body;
    EXPECT_EQ(o["trap"].as_string(), kind) << fn << ": " << r.body;
    EXPECT_TRUE(std::string(o["error"].as_string())
                    .starts_with("function " + std::string(fn) + " trapped: "))
        << r.body;
  }

  r = e.Call("big_init");  // 64 MiB initial memory, limit 16 MB
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(Body(r)["code"].as_string(), "instantiate") << r.body;
  r = e.Call("grow", "\"32\"");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(Body(r)["code"].as_string(), "exit") << r.body;
  EXPECT_EQ(Output(e.Call("grow", "\"4\"")), "4\n");
  EXPECT_GE(Body(e.Call("grow", "\"4\""))["memory_used_kb"].as_int64(), 4096);

  // None of that hurt the process.
  EXPECT_EQ(Output(e.Call("hello")), "Hello, World!\n");
  std::string metrics = e.Get("/metrics").body;
  EXPECT_NE(metrics.find("aether_traps_total{kind=\"stack_exhausted\"} 1"), std::string::npos);
}

TEST(EngineIntegration, TimeoutEndsTheExecutionAndTheEngineKeepsServing) {
  Engine e({"spin", "hello"}, "exec_timeout = \"500ms\"");
  ASSERT_TRUE(e.ok());
  // Loaded first: a request that arrives while the module compiles waits at
  // most its timeout for it, then gets 503 "loading" instead.
  ASSERT_TRUE(e.WaitReady("spin"));
  auto t0 = Clock::now();
  HttpResponse r = e.Call("spin");
  double ms = MsSince(t0);
  EXPECT_EQ(r.status, 500);
  json::object o = Body(r);
  EXPECT_EQ(o["code"].as_string(), "timeout");
  EXPECT_EQ(o["error"].as_string(), "function spin timed out after 500ms");
  EXPECT_GE(ms, 450);
  // spin never returns: the answer comes from the 500 ms timer; ten times
  // that leaves room for a busy machine.
  EXPECT_LT(ms, 5000) << "measured " << ms << " ms";
  EXPECT_EQ(Output(e.Call("hello")), "Hello, World!\n");
}

TEST(EngineIntegration, ConcurrentRequests) {
  Engine e({"echo"});
  ASSERT_TRUE(e.ok());
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        std::string input = "t" + std::to_string(t) + "-" + std::to_string(i);
        auto r = Http("POST", e.url("/execute"), R"({"function":"echo","input":")" + input + "\"}");
        if (r.ok() && r->status == 200 && r->body.find("\"" + input + "\"") != std::string::npos) {
          ok++;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 160);
}

TEST(EngineIntegration, BadRequests) {
  Engine e({"echo"});
  ASSERT_TRUE(e.ok());
  HttpResponse r = e.Post("{\"function\": ");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Body(r)["code"].as_string(), "invalid_argument");
  r = e.Post(R"({"input": "x"})");
  EXPECT_TRUE(IsError(r, 400, "invalid_argument"));
  EXPECT_NE(r.body.find("function"), std::string::npos);
  r = e.Post(R"({"function": 12})");
  EXPECT_TRUE(IsError(r, 400, "invalid_argument"));
  EXPECT_NE(r.body.find("must be a string"), std::string::npos);
  EXPECT_TRUE(IsError(e.Post("[1,2]"), 400, "invalid_argument"));
  r = e.Call("nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(Body(r)["code"].as_string(), "not_found");
  EXPECT_TRUE(IsError(e.Call("../echo"), 404, "not_found"));
  // Over [server] max_body (4 MB): refused before parsing.
  std::string big = R"({"function":"echo","input":")" + std::string(10 << 20, 'x') + "\"}";
  auto huge = Http("POST", e.url("/execute"), big);
  if (huge.ok()) {
    EXPECT_TRUE(IsError(*huge, 413, "payload_too_large"));
  }  // else: the server may close before reading it all; that is a refusal too
  // Over [runtime] max_input (1 MB) but under max_body.
  r = e.Post(R"({"function":"echo","input":")" + std::string(2 << 20, 'x') + "\"}");
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(Body(r)["code"].as_string(), "payload_too_large");
  EXPECT_EQ(Output(e.Call("echo", "\"still fine\"")), "still fine");
}

TEST(EngineIntegration, CorruptModuleFailsAloneAndNewFilesAreServed) {
  Engine e({"hello"});
  ASSERT_TRUE(e.ok());
  WriteFile(e.functions_dir() + "/corrupt.wasm", "this is not wasm");
  WriteFile(e.functions_dir() + "/Not_Valid.wasm", ReadFile(Guest("echo")));
  // The engine sees the file through inotify or, at the latest, this request.
  HttpResponse r = e.Call("corrupt");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(Body(r)["code"].as_string(), "invalid_module") << r.body;
  EXPECT_EQ(Output(e.Call("hello")), "Hello, World!\n");

  WriteFile(e.functions_dir() + "/echo2.wasm", ReadFile(Guest("echo")));
  EXPECT_EQ(Output(e.Call("echo2", "\"new\"")), "new");
  // Replaced in place: the new module is served once the event is handled.
  WriteFile(e.functions_dir() + "/echo2.wasm", ReadFile(Guest("hello")));
  auto deadline = Clock::now() + std::chrono::seconds(5);
  std::string out;
  while (Clock::now() < deadline && (out = Output(e.Call("echo2", "\"x\""))) != "Hello, World!\n") {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(out, "Hello, World!\n");
  fs::remove(e.functions_dir() + "/echo2.wasm");
  deadline = Clock::now() + std::chrono::seconds(5);
  while (Clock::now() < deadline && e.Call("echo2").status != 404) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(IsError(e.Call("echo2"), 404, "not_found"));
  EXPECT_TRUE(IsError(e.Call("Not_Valid"), 404, "not_found"));
  EXPECT_NE(e.process().Log().find("Not_Valid.wasm"), std::string::npos);  // warned
}

TEST(EngineIntegration, HealthAnswersWhileEveryWorkerIsBusy) {
  Engine e({"spin"}, "workers = 2\nexec_timeout = \"3s\"");
  ASSERT_TRUE(e.ok());
  auto s1 = std::async(std::launch::async, [&] { return e.Call("spin").status; });
  auto s2 = std::async(std::launch::async, [&] { return e.Call("spin").status; });
  auto deadline = Clock::now() + std::chrono::seconds(2);
  while (Clock::now() < deadline && Body(e.Get("/health"))["busy"].as_int64() < 2) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  double worst = 0;
  for (int i = 0; i < 10; ++i) {
    auto t0 = Clock::now();
    HttpResponse h = e.Get("/health");
    worst = std::max(worst, MsSince(t0));
    EXPECT_EQ(h.status, 200);
    EXPECT_EQ(Body(h)["busy"].as_int64(), 2);
  }
  // Every answer said busy = 2: /health answered while both workers were
  // still in spin, not after. The speed (target < 50 ms) is printed, not
  // asserted: that is for bench/, not for a shared CI machine.
  std::printf("[ measured ] /health with every worker busy: worst of 10 = %.2f ms\n", worst);
  EXPECT_EQ(s1.get(), 500);
  EXPECT_EQ(s2.get(), 500);
}

TEST(EngineIntegration, FullQueueAnswers503AtOnce) {
  Engine e({"spin", "hello"}, "workers = 1\nqueue_length = 1\nexec_timeout = \"2s\"");
  ASSERT_TRUE(e.ok());
  auto running = std::async(std::launch::async, [&] { return e.Call("spin").status; });
  auto wait_for = [&](const char* field, int64_t n) {
    auto deadline = Clock::now() + std::chrono::seconds(2);
    while (Clock::now() < deadline && Body(e.Get("/health"))[field].as_int64() < n) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  };
  wait_for("busy", 1);
  auto queued = std::async(std::launch::async, [&] { return e.Call("hello").status; });
  wait_for("queue", 1);
  HttpResponse r = e.Call("hello");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(Body(r)["code"].as_string(), "overloaded");
  EXPECT_EQ(r.Header("Retry-After"), "1");
  // In that order: the 503 came while the worker was still in spin (2 s)
  // and the queued request still waited; it did not wait for a worker.
  EXPECT_EQ(running.wait_for(std::chrono::seconds(0)), std::future_status::timeout);
  EXPECT_EQ(queued.wait_for(std::chrono::seconds(0)), std::future_status::timeout);
  EXPECT_EQ(running.get(), 500);  // timed out
  EXPECT_EQ(queued.get(), 200);
  EXPECT_NE(e.Get("/metrics").body.find("aether_rejected_total 1"), std::string::npos);
}

// The value of one series in /metrics text, -1 when absent.
double Series(const std::string& text, const std::string& series) {
  size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

TEST(EngineIntegration, QuickFunctionsRunOnTheIoThreadAndASlowRunIsHandedOff) {
  // fib(5) takes microseconds: after a streak of quick runs it runs on the
  // IO thread. fib(80) never ends: there it is stopped at inline_budget and
  // run again on the one worker, where exec_timeout ends it. The IO thread
  // is free again long before that.
  Engine e({"fib"}, "workers = 1\nexec_timeout = \"3s\"\ninline_budget = \"20ms\"");
  ASSERT_TRUE(e.ok());
  ASSERT_TRUE(e.WaitReady("fib"));
  for (int i = 0; i < 20; ++i) ASSERT_EQ(Output(e.Call("fib", "5")), "5\n");
  std::string m = e.Get("/metrics").body;
  EXPECT_GE(Series(m, "aether_inline_executions_total{result=\"answered\"}"), 1) << m;
  EXPECT_EQ(Series(m, "aether_inline_executions_total{result=\"handed_off\"}"), 0);

  auto slow = std::async(std::launch::async, [&] { return e.Call("fib", "80"); });
  auto handed_off = [&] {
    return Series(e.Get("/metrics").body, "aether_inline_executions_total{result=\"handed_off\"}");
  };
  auto deadline = Clock::now() + std::chrono::seconds(2);
  while (Clock::now() < deadline && handed_off() < 1) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(handed_off(), 1);
  // New connections land on both IO threads: each answers while fib(80)
  // still runs on the worker, so neither IO thread is held by it.
  for (int i = 0; i < 6; ++i) EXPECT_EQ(e.Get("/health").status, 200);
  EXPECT_EQ(slow.wait_for(std::chrono::seconds(0)), std::future_status::timeout);
  HttpResponse r = slow.get();
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(Body(r)["code"].as_string(), "timeout");
  EXPECT_EQ(Body(r)["error"].as_string(), "function fib timed out after 3s");
  // The streak starts again on the worker.
  EXPECT_EQ(Output(e.Call("fib", "5")), "5\n");
}

TEST(EngineIntegration, AGuestOverflowingTheStackOnTheIoThreadTrapsAndTheEngineServes) {
  // A generous budget, so that the overflow (quick, and a trap is an
  // answer) surely earns its place on the IO thread, whose stack must then
  // catch it as a worker's does.
  Engine e({"stack_overflow", "hello"}, "inline_budget = \"100ms\"");
  ASSERT_TRUE(e.ok());
  ASSERT_TRUE(e.WaitReady("stack_overflow"));
  // Until one ran inline: on a loaded machine a slow run restarts the
  // streak that earns the IO thread, so a fixed count was not enough.
  std::string m;
  for (int i = 0; i < 200; ++i) {
    HttpResponse r = e.Call("stack_overflow");
    ASSERT_EQ(r.status, 500) << r.body;
    EXPECT_EQ(Body(r)["trap"].as_string(), "stack_exhausted");
    m = e.Get("/metrics").body;
    if (i >= 11 && Series(m, "aether_inline_executions_total{result=\"answered\"}") >= 1) break;
  }
  EXPECT_GE(Series(m, "aether_inline_executions_total{result=\"answered\"}"), 1) << m;
  EXPECT_EQ(Output(e.Call("hello")), "Hello, World!\n");
  EXPECT_EQ(e.Get("/health").status, 200);
}

TEST(EngineIntegration, OptimizedTierTakesOver) {
  Engine e({"hello"}, "", /*optimize=*/true);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(Output(e.Call("hello")), "Hello, World!\n");
  auto deadline = Clock::now() + std::chrono::seconds(30);
  std::string tier;
  while (Clock::now() < deadline) {
    json::object f = Body(e.Get("/functions"));
    tier = std::string(f["functions"].as_array()[0].as_object()["tier"].as_string());
    if (tier == "optimized") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(tier, "optimized");
  EXPECT_EQ(Output(e.Call("hello")), "Hello, World!\n");
  EXPECT_NE(e.Get("/metrics").body.find("aether_compile_seconds_count{tier=\"optimized\"} 1"),
            std::string::npos);
  EXPECT_EQ(e.process().Stop(), 0);  // SIGTERM is a clean shutdown
}

TEST(EngineIntegration, StartupErrorsExitWithOneLine) {
  TempDir dir;
  WriteFile(dir / "bad.toml", "[runtime]\nexec_timeout = 5\nbogus = 1\n");
  ExitResult r = RunToExit(kEngine, {"--config", dir / "bad.toml"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("bad.toml"), std::string::npos) << r.output;

  r = RunToExit(kEngine, {"--config", dir / "missing.toml"});
  EXPECT_EQ(r.exit_code, 1) << r.output;

  WriteFile(dir / "nodir.toml", "[runtime]\nfunctions_dir = \"" + (dir / "nope") +
                                    "\"\ndata_dir = \"" + (dir / "data") + "\"\n");
  r = RunToExit(kEngine, {"--config", dir / "nodir.toml", "--port", "0"});
  EXPECT_EQ(r.exit_code, 1) << r.output;

  // Port in use: a second engine on the first one's port.
  Engine first({"hello"});
  ASSERT_TRUE(first.ok());
  WriteFile(dir / "ok.toml", "[runtime]\ndata_dir = \"" + (dir / "data") + "\"\n");
  r = RunToExit(kEngine,
                {"--config", dir / "ok.toml", "--port", std::to_string(first.process().port())});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("in use"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace aether::testing
