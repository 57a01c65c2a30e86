// Engines joining a control plane, end to end: the real aether-control and
// aether-engine binaries on 127.0.0.1 (free ports, temp data dirs), with
// short timings (heartbeat 200 ms, node_timeout 1 s). Every process is
// stopped or killed by its PID (process.h).
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>
#include <filesystem>
#include <functional>
#include <thread>

#include "common/http_client.h"
#include "common/sha256.h"
#include "process.h"

namespace aether::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

const std::string kControl = std::string(AETHER_BIN_DIR) + "/aether-control";
const std::string kEngine = std::string(AETHER_BIN_DIR) + "/aether-engine";

std::string GuestBytes(const std::string& name) {
  return ReadFile(std::string(AETHER_GUEST_DIR) + "/" + name + ".wasm");
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

json::object Obj(const HttpResponse& r) {
  boost::system::error_code ec;
  json::value v = json::parse(r.body, ec);
  if (ec || !v.is_object()) return {};
  return v.as_object();
}

std::string Str(const json::value& v) { return v.is_string() ? std::string(v.as_string()) : ""; }

// Polls `cond` every 20 ms until it holds or `limit` passes.
bool WaitFor(const std::function<bool()>& cond, milliseconds limit = seconds(10)) {
  auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return cond();
}

// One aether-control; restartable on the same data dir and port.
class Control {
 public:
  Control() {
    config_ = dir_ / "control.toml";
    WriteFile(config_, "[database]\npath = \"" + dir_ / "data/aether.db" + "\"\n" +
                           "[registry]\nnode_timeout = \"1s\"\nheartbeat_interval = \"200ms\"\n" +
                           "[runtime]\nexec_timeout = \"2s\"\n");
    Start();
  }

  void Start() {
    std::string port = port_ == 0 ? "0" : std::to_string(port_);
    auto p = ServerProcess::Start(kControl, {"--config", config_, "--port", port},
                                  dir_ / ("control-" + std::to_string(starts_++) + ".log"));
    ASSERT_TRUE(p.ok()) << p.status().message();
    process_ = std::move(p).value();
    port_ = process_->port();
    url_ = process_->url();
    admin_ = Trim(ReadFile(dir_ / "data/admin.token"));
    join_ = Trim(ReadFile(dir_ / "data/join.token"));
  }
  void Kill9() {
    ::kill(process_->pid(), SIGKILL);
    process_.reset();
  }

  const std::string& url() const { return url_; }
  const std::string& join() const { return join_; }

  HttpResponse Call(std::string_view method, const std::string& path, std::string_view body = {},
                    HttpHeaders headers = {}) {
    headers.emplace_back("Authorization", "Bearer " + admin_);
    auto r = HttpFetch(method, url_ + path, body, headers);
    if (!r.ok()) {
      ADD_FAILURE() << method << " " << path << ": " << r.status().message();
      return HttpResponse{0, "", "", {}};
    }
    return std::move(r).value();
  }

  HttpResponse Deploy(const std::string& name, const std::string& guest,
                      const std::string& query = "") {
    return Call("PUT", "/api/functions/" + name + query, GuestBytes(guest),
                {{"Content-Type", "application/wasm"}});
  }

  // The node's entry in GET /api/functions/{name}: "ready:<sha>" when the
  // node has the current version ready, "state" otherwise.
  bool Ready(const std::string& name, const std::string& node, const std::string& sha) {
    json::object f = Obj(Call("GET", "/api/functions/" + name));
    if (!f.contains("nodes") || Str(f["sha256"]) != sha) return false;
    for (const json::value& n : f["nodes"].as_array()) {
      const json::object& o = n.as_object();
      if (Str(o.at("node_id")) == node) return o.at("ready").as_bool();
    }
    return false;
  }

  std::string NodeState(const std::string& node) {
    json::object list = Obj(Call("GET", "/api/nodes"));
    if (!list.contains("nodes")) return "";
    for (const json::value& n : list["nodes"].as_array()) {
      if (Str(n.at("node_id")) == node) return Str(n.at("state"));
    }
    return "";
  }

  // Events of `type` from `source` so far.
  std::vector<json::object> Events(const std::string& type, const std::string& source) {
    std::vector<json::object> out;
    json::object r = Obj(Call("GET", "/api/events?type=" + type + "&limit=1000"));
    if (!r.contains("events")) return out;
    for (const json::value& e : r["events"].as_array()) {
      if (Str(e.at("source")) == source) out.push_back(e.as_object());
    }
    return out;
  }

  HttpResponse Invoke(const std::string& name, std::string_view body) {
    return Call("POST", "/api/invoke/" + name, body);
  }

 private:
  TempDir dir_;
  std::string config_;
  int starts_ = 0;
  uint16_t port_ = 0;
  std::string url_, admin_, join_;
  std::unique_ptr<ServerProcess> process_;
};

// One aether-engine joined to `control`; restartable on the same data dir.
class Engine {
 public:
  Engine(const Control& control, std::string node_id) : node_id_(std::move(node_id)) {
    WriteFile(dir_ / "engine.toml", "[runtime]\ndata_dir = \"" + dir_ / "data" +
                                        "\"\noptimize = false\n" + "exec_timeout = \"2s\"\n" +
                                        "[control]\nurl = \"" + control.url() + "\"\nnode_id = \"" +
                                        node_id_ + "\"\nlabels = { zone = \"test\" }\n" +
                                        "[auth]\njoin_token = \"" + control.join() + "\"\n" +
                                        "[registry]\nheartbeat_interval = \"200ms\"\n");
    Start();
  }

  void Start() {
    auto p = ServerProcess::Start(kEngine, {"--config", dir_ / "engine.toml", "--port", "0"},
                                  dir_ / ("engine-" + std::to_string(starts_++) + ".log"));
    ASSERT_TRUE(p.ok()) << p.status().message();
    process_ = std::move(p).value();
  }
  void Kill9() {
    ::kill(process_->pid(), SIGKILL);
    process_.reset();
  }
  ServerProcess& process() { return *process_; }
  const std::string& node_id() const { return node_id_; }
  std::string Logs() const {
    std::string all;
    for (int i = 0; i < starts_; ++i)
      all += ReadFile(dir_ / ("engine-" + std::to_string(i) + ".log"));
    return all;
  }

  HttpResponse Execute(const std::string& function, const std::string& input_json = "null") {
    auto r = HttpFetch("POST", process_->url() + "/execute",
                       "{\"function\":\"" + function + "\",\"input\":" + input_json + "}");
    if (!r.ok()) {
      ADD_FAILURE() << r.status().message();
      return HttpResponse{0, "", "", {}};
    }
    return std::move(r).value();
  }
  std::string Output(const std::string& function, const std::string& input_json = "null") {
    HttpResponse r = Execute(function, input_json);
    if (r.status != 200) return "HTTP " + std::to_string(r.status) + ": " + r.body;
    return Str(Obj(r)["output"]);
  }

 private:
  TempDir dir_;
  std::string node_id_;
  int starts_ = 0;
  std::unique_ptr<ServerProcess> process_;
};

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
  for (int i = 0; i < 5; ++i) EXPECT_EQ(e1.Execute("boom").status, 500);
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

}  // namespace
}  // namespace aether::testing
