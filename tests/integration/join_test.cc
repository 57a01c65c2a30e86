// Engines joining a control plane, end to end: the real aether-control and
// aether-engine binaries on 127.0.0.1 (free ports, temp data dirs), with
// short timings (heartbeat 200 ms, node_timeout 1 s). Every process is
// stopped or killed by its PID (process.h).
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <thread>

#include "cluster.h"
#include "common/sha256.h"
#include "common/testing/http_error.h"

namespace aether::testing {
namespace {

namespace fs = std::filesystem;

TEST(JoinTest, DeployRedeployRollbackDeleteAndASecondEngine) {
  Control control;
  Engine e1(control, "edge-1");
  std::string env_sha = Sha256Hex(GuestBytes("env"));
  std::string hello_sha = Sha256Hex(GuestBytes("hello"));

  // Deploy → ready on the node → invoke through the gateway and directly.
  ASSERT_EQ(control.Deploy("greet", "env", "?env=GREETING=hi").status, 201);
  ASSERT_TRUE(WaitFor([&] { return control.Ready("greet", "edge-1", env_sha); })) << e1.Logs();
  HttpResponse via = control.Invoke("greet", "{}");
  ASSERT_EQ(via.status, 200) << via.body;
  EXPECT_EQ(Str(Obj(via)["output"]), "GREETING=hi\nargv0=greet\n");
  EXPECT_EQ(e1.Output("greet"), "GREETING=hi\nargv0=greet\n");

  // Redeploy: version 2 is served once ready.
  ASSERT_EQ(control.Deploy("greet", "hello").status, 201);
  ASSERT_TRUE(WaitFor([&] { return control.Ready("greet", "edge-1", hello_sha); }));
  EXPECT_EQ(e1.Output("greet"), "Hello, World!\n");
  EXPECT_EQ(Str(Obj(control.Invoke("greet", "{}"))["output"]), "Hello, World!\n");

  // Rollback: version 1 again, with its env.
  ASSERT_EQ(control.Call("POST", "/api/functions/greet/rollback", R"({"version":1})").status, 200);
  ASSERT_TRUE(WaitFor([&] { return control.Ready("greet", "edge-1", env_sha); }));
  EXPECT_EQ(e1.Output("greet"), "GREETING=hi\nargv0=greet\n");

  // The gateway forwards the client's input text as written.
  ASSERT_EQ(control.Deploy("echo", "echo").status, 201);
  ASSERT_TRUE(
      WaitFor([&] { return control.Ready("echo", "edge-1", Sha256Hex(GuestBytes("echo"))); }));
  HttpResponse num = control.Invoke("echo", R"({"input": 2.5, "function": "greet"})");
  ASSERT_EQ(num.status, 200) << num.body;
  EXPECT_EQ(Str(Obj(num)["output"]), "2.5");
  EXPECT_EQ(Str(Obj(control.Invoke("echo", R"({ })"))["output"]), "");

  // Events: ready from the node; a trap, rate-limited.
  EXPECT_TRUE(WaitFor([&] { return control.Events("function_ready", "edge-1").size() >= 4; }));
  ASSERT_EQ(control.Deploy("boom", "trap_div_zero").status, 201);
  ASSERT_TRUE(WaitFor(
      [&] { return control.Ready("boom", "edge-1", Sha256Hex(GuestBytes("trap_div_zero"))); }));
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(IsError(e1.Execute("boom"), 500, "trap"));
  ASSERT_TRUE(WaitFor([&] { return !control.Events("trap", "edge-1").empty(); }));
  std::this_thread::sleep_for(milliseconds(300));
  std::vector<json::object> traps = control.Events("trap", "edge-1");
  EXPECT_EQ(traps.size(), 1u);  // the other four within the second are counted, not sent
  EXPECT_EQ(Str(traps[0]["data"].as_object()["function"]), "boom");
  EXPECT_EQ(Str(traps[0]["data"].as_object()["kind"]), "integer_divide_by_zero");

  // A second engine joins later and gets every function.
  Engine e2(control, "edge-2");
  ASSERT_TRUE(WaitFor([&] { return control.Ready("greet", "edge-2", env_sha); })) << e2.Logs();
  EXPECT_EQ(e2.Output("greet"), "GREETING=hi\nargv0=greet\n");
  EXPECT_EQ(e2.Output("echo", "[1, 2]"), "[1,2]");

  // Delete: the engines stop serving it.
  ASSERT_EQ(control.Call("DELETE", "/api/functions/greet").status, 200);
  EXPECT_TRUE(WaitFor([&] { return e1.Execute("greet").status == 404; }));
  EXPECT_TRUE(WaitFor([&] { return e2.Execute("greet").status == 404; }));
  EXPECT_EQ(e1.Output("echo", "\"still here\""), "still here");

  // Shutdown is prompt even with a manifest long-poll in flight.
  auto t0 = Clock::now();
  EXPECT_EQ(e2.process().Stop(), 0);
  EXPECT_LT(Clock::now() - t0, seconds(3));

  std::string logs = e1.Logs() + e2.Logs();
  EXPECT_EQ(logs.find(control.join()), std::string::npos) << "the join token must not be logged";
}

TEST(JoinTest, EngineAndControlPlaneOutages) {
  Control control;
  auto engine = std::make_unique<Engine>(control, "edge-1");
  std::string sha = Sha256Hex(GuestBytes("hello"));
  ASSERT_EQ(control.Deploy("hello", "hello").status, 201);
  ASSERT_TRUE(WaitFor([&] { return control.Ready("hello", "edge-1", sha); }));

  // Engine killed: marked down within node_timeout (1 s, checked with slack).
  engine->Kill9();
  auto t0 = Clock::now();
  ASSERT_TRUE(WaitFor([&] { return control.NodeState("edge-1") == "down"; }, seconds(5)));
  EXPECT_LT(Clock::now() - t0, milliseconds(2500));

  // Control plane killed too; the engine restarted on its data dir serves
  // its cached function without it.
  control.Kill9();
  engine->Start();
  EXPECT_EQ(engine->Output("hello"), "Hello, World!\n");

  // Control plane back (same port): the engine registers again, is up and
  // ready, and the gateway routes to it.
  control.Start();
  ASSERT_TRUE(WaitFor([&] { return control.NodeState("edge-1") == "up"; }));
  ASSERT_TRUE(WaitFor([&] { return control.Ready("hello", "edge-1", sha); }));
  EXPECT_EQ(Str(Obj(control.Invoke("hello", "{}"))["output"]), "Hello, World!\n");

  // Control plane killed while the engine runs: it keeps serving, and a
  // deploy made after the control plane returns still arrives.
  control.Kill9();
  std::this_thread::sleep_for(milliseconds(500));
  EXPECT_EQ(engine->Output("hello"), "Hello, World!\n");
  control.Start();
  ASSERT_EQ(control.Deploy("hello", "echo").status, 201);
  ASSERT_TRUE(WaitFor([&] {
    return control.Ready("hello", "edge-1", Sha256Hex(GuestBytes("echo")));
  })) << engine->Logs();
  EXPECT_EQ(engine->Output("hello", "\"back\""), "back");
  std::string logs = engine->Logs();
  EXPECT_NE(logs.find("serving 1 functions from the last manifest"), std::string::npos) << logs;
}

// The engine's long-polls (manifest and workflow assignments) park at the
// control plane for 30 s; stopping the engine cancels them, so SIGTERM still
// ends it at once. Measured: from SIGTERM to the engine process having
// exited (poller, workflow host, dataplane, control link, HTTP server and
// workers stopped), with its manifest poll parked at the control plane.
TEST(JoinTest, AnEngineWithParkedLongPollsStopsAtOnce) {
  Control control;
  Engine engine(control, "edge-1");
  auto parked = [&] {
    std::string metrics = control.Call("GET", "/metrics").body;
    return metrics.find("\naether_control_manifest_waiters 1\n") != std::string::npos;
  };
  ASSERT_TRUE(WaitFor(parked, seconds(20))) << engine.Logs();
  auto start = Clock::now();
  int code = engine.process().Stop(seconds(40));
  auto took = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
  EXPECT_EQ(code, 0) << engine.Logs();
  // Generous for a busy machine (it takes well under 1 s); without
  // cancellation it would be ~30 s.
  EXPECT_LT(took, seconds(5)) << "SIGTERM to exit took " << took.count() << " ms";
  std::printf("[ shutdown ] engine with parked long-polls: SIGTERM to exit in %lld ms\n",
              static_cast<long long>(took.count()));
}

// [server] public_url is the URL an engine registers (the control plane and
// other engines reach it there: behind NAT, a proxy or a load balancer); a
// value that is not an http(s) URL stops the engine at start, naming the key.
TEST(JoinTest, AnEngineRegistersItsPublicUrl) {
  Control control;
  Engine engine(control, "edge-1", "zone = \"test\"",
                "[server]\npublic_url = \"http://edge-1.example:9091/\"\n");
  auto registered_url = [&] {
    json::object list = Obj(control.Call("GET", "/api/nodes"));
    if (!list.contains("nodes") || list["nodes"].as_array().empty()) return std::string();
    return Str(list["nodes"].as_array()[0].at("url"));
  };
  EXPECT_TRUE(WaitFor([&] { return registered_url() == "http://edge-1.example:9091"; }))
      << registered_url() << "\n"
      << engine.Logs();

  TempDir dir;
  WriteFile(dir / "bad.toml", "[runtime]\ndata_dir = \"" + dir / "data" +
                                  "\"\n[server]\npublic_url = \"edge-1:9091\"\n");
  ExitResult r = RunToExit(kEngine, {"--config", dir / "bad.toml", "--port", "0"});
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("[server] public_url \"edge-1:9091\": invalid url: must start with "
                          "http:// or https://"),
            std::string::npos)
      << r.output;
}

// A deploy is announced to the engines before it commits (GET /node/prefetch):
// an engine compiles the module meanwhile (fast tier only), so the manifest
// finds it compiled; one with [control] prefetch = false does not poll and
// compiles when the manifest comes. A module the deploy refuses is never
// served. The route is for nodes and admins only.
TEST(JoinTest, EnginesCompileADeployBeforeItCommits) {
  Control control;
  Engine e1(control, "edge-1");
  Engine e2(control, "edge-2", "zone = \"test\"", "", "prefetch = false");
  auto prefetches = [](Engine& e, const std::string& result) {
    return e.Metrics().Value("aether_prefetches_total", {{"result", result}}).value_or(-1);
  };
  auto parked = [&](int n) {
    std::string metrics = control.Call("GET", "/metrics").body;
    return metrics.find("\naether_control_prefetch_waiters " + std::to_string(n) + "\n") !=
               std::string::npos &&
           metrics.find("\naether_control_manifest_waiters 2\n") != std::string::npos;
  };
  ASSERT_TRUE(WaitFor([&] { return parked(1); }, seconds(20))) << e1.Logs() << e2.Logs();

  ASSERT_EQ(control.Deploy("hello", "hello").status, 201);
  std::string sha = Sha256Hex(GuestBytes("hello"));
  ASSERT_TRUE(WaitFor([&] { return control.Ready("hello", "edge-1", sha); })) << e1.Logs();
  ASSERT_TRUE(WaitFor([&] { return control.Ready("hello", "edge-2", sha); })) << e2.Logs();
  EXPECT_EQ(prefetches(e1, "compiled"), 1) << e1.Logs();
  EXPECT_EQ(prefetches(e2, "compiled"), 0);
  EXPECT_EQ(e1.Output("hello"), "Hello, World!\n");
  // The engine polls again once it has the hint: back to one parked poll.
  EXPECT_TRUE(WaitFor([&] { return parked(1); }));

  // Refused: 422; e1 may have tried it (the failure is counted), nothing
  // serves it.
  HttpResponse bad = control.Call("PUT", "/api/functions/junk", "junk bytes, not wasm",
                                  {{"Content-Type", "application/wasm"}});
  EXPECT_EQ(bad.status, 422) << bad.body;
  EXPECT_TRUE(WaitFor([&] { return parked(1); }));
  EXPECT_EQ(prefetches(e1, "compiled"), 1);
  EXPECT_EQ(e1.Execute("junk").status, 404);

  // Only nodes and admins; a bad query is a 400.
  auto http = NewHttpClient();
  auto anonymous = http->Fetch("GET", control.url() + "/node/prefetch", "");
  ASSERT_TRUE(anonymous.ok());
  EXPECT_EQ(anonymous->status, 401) << anonymous->body;
  HttpResponse now = control.Call("GET", "/node/prefetch");
  ASSERT_EQ(now.status, 200) << now.body;
  EXPECT_EQ(Obj(now)["modules"].as_array().size(), 0u);
  EXPECT_GE(Obj(now)["revision"].as_int64(), 2);
  EXPECT_TRUE(IsError(control.Call("GET", "/node/prefetch?since=x"), 400, "invalid_argument"));
}

}  // namespace
}  // namespace aether::testing
