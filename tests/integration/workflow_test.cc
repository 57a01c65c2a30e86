// Workflows end to end: the real aether-control and two or three
// aether-engine binaries on 127.0.0.1, workflow functions built from
// tests/guests/wf_*.c and examples/pipeline, events crossing engines over
// the dataplane. Timings are short (heartbeat 200 ms, node_timeout 1 s).
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "cluster.h"
#include "common/http_server.h"
#include "common/testing/http_error.h"
#include "common/testing/http_fetch.h"
#include "workflows.h"

namespace aether::testing {
namespace {

namespace fs = std::filesystem;

const std::string kExamples = std::string(AETHER_FUNCTIONS_DIR) + "/../examples/pipeline";

std::string ExampleBytes(const std::string& name) {
  return ReadFile(kExamples + "/" + name + ".wasm");
}

// The pipeline of examples/pipeline: ingress -> parse -> filter -> file-log,
// with parse pinned to edge-1 and filter + log to edge-2 so events cross.
std::string PipelineSpec(const std::string& name) {
  return R"({"name": ")" + name + R"(",
    "functions": [
      {"name": "parse", "function": "pipeline-parse",
       "output_mapping": {"out": "filter"},
       "annotations": {"node_id_match_any": ["edge-1"]}},
      {"name": "filter", "function": "pipeline-filter",
       "output_mapping": {"out": "log"},
       "annotations": {"init_payload": "{\"field\":\"amount\",\"min\":100}",
                       "node_id_match_any": ["edge-2"]}}],
    "resources": [
      {"name": "ingress", "class_type": "http-ingress",
       "configurations": {"path": "orders"}, "output_mapping": {"new_request": "parse"},
       "annotations": {"node_id_match_any": ["edge-1"]}},
      {"name": "log", "class_type": "file-log", "configurations": {"filename": "accepted.log"},
       "annotations": {"node_id_match_any": ["edge-2"]}}]})";
}

void DeployPipeline(Control& control) {
  ASSERT_EQ(control
                .Call("PUT", "/api/functions/pipeline-parse", ExampleBytes("parse"),
                      {{"Content-Type", "application/wasm"}})
                .status,
            201);
  ASSERT_EQ(control
                .Call("PUT", "/api/functions/pipeline-filter", ExampleBytes("filter"),
                      {{"Content-Type", "application/wasm"}})
                .status,
            201);
}

TEST(WorkflowTest, PipelineAcrossTwoEngines) {
  Control control;
  Engine e1(control, "edge-1");
  Engine e2(control, "edge-2");
  Workflows wf{control};
  DeployPipeline(control);

  std::string id = wf.Apply(PipelineSpec("orders"));
  ASSERT_EQ(id, "orders");
  ASSERT_TRUE(wf.WaitState(id, "running")) << json::serialize(wf.Show(id)) << e1.Logs();
  std::map<std::string, std::string> placed = wf.Placement(id);
  EXPECT_EQ(placed["orders/parse/0"], "edge-1");
  EXPECT_EQ(placed["orders/filter/0"], "edge-2");
  std::string ingress = wf.IngressUrl(id);
  ASSERT_EQ(ingress, e1.process().url() + "/wf/orders/orders");

  // The ingress answers with the filter's verdict; accepted orders reach the log on edge-2.
  HttpResponse yes = Post(ingress, R"({"amount": 150, "item": "book"})");
  ASSERT_EQ(yes.status, 200) << yes.body << e1.Logs();
  EXPECT_NE(yes.body.find("accept"), std::string::npos) << yes.body;
  HttpResponse no = Post(ingress, R"({"amount": 20, "item": "pen"})");
  ASSERT_EQ(no.status, 200) << no.body;
  EXPECT_NE(no.body.find("reject"), std::string::npos) << no.body;
  // The control plane forwards /wf/ to the engine that runs the ingress,
  // with the engine's answer (a refused method, an unknown path: theirs).
  HttpResponse via = Post(control.url() + "/wf/orders/orders", R"({"amount": 20})");
  ASSERT_EQ(via.status, 200) << via.body;
  EXPECT_NE(via.body.find("reject"), std::string::npos) << via.body;
  auto get = HttpFetch("GET", control.url() + "/wf/orders/orders");
  ASSERT_TRUE(get.ok());
  EXPECT_EQ(get->status, 405) << get->body;
  EXPECT_EQ(Post(control.url() + "/wf/orders/other", "x").status, 404);
  EXPECT_EQ(Post(control.url() + "/wf/../x", "x").status, 404);
  // A request that went round control planes already is not passed on.
  auto loop =
      HttpFetch("POST", control.url() + "/wf/orders/orders", "{}", {{"X-Aether-Hops", "2"}});
  ASSERT_TRUE(loop.ok());
  EXPECT_EQ(loop->status, 508) << loop->body;
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(Post(ingress, R"({"amount": )" + std::to_string(100 + i) + "}").status, 200);
  }
  ASSERT_TRUE(WaitFor([&] { return LogLines({&e2}, id, "accepted.log").size() == 51; }))
      << LogLines({&e2}, id, "accepted.log").size();
  EXPECT_TRUE(LogLines({&e1}, id, "accepted.log").empty());
  // Every instance counts its events (engines report them about every second).
  EXPECT_TRUE(WaitFor([&] {
    json::object f = wf.Instance(id, "orders/filter/0");
    return f.contains("events") && f["events"].to_number<int64_t>() >= 53;
  })) << json::serialize(wf.Show(id));
}

// An http-ingress in EDGELESS's format gives its function what EDGELESS's
// does: the Host the client sent, the path with its query, the end-to-end
// headers (names in lower case); through the control plane too, which
// forwards the headers and the query and says which Host was asked for.
// The function's response headers reach the client, but none that would
// split the response or replace the server's framing.
TEST(WorkflowTest, EdgelessIngressPassesHostQueryAndHeaders) {
  Control control;
  Engine e1(control, "edge-1");
  Workflows wf{control};
  ASSERT_EQ(control
                .Call("PUT", "/api/functions/wfe",
                      ReadFile(std::string(AETHER_GUEST_DIR) + "/wf_edgeless.wasm"),
                      {{"Content-Type", "application/wasm"}})
                .status,
            201);
  std::string id = wf.Apply(R"({"name": "eh",
    "functions": [{"name": "fn", "function": "wfe"}],
    "resources": [{"name": "in", "class_type": "http-ingress",
                   "configurations": {"path": "hello", "format": "edgeless", "method": ""},
                   "output_mapping": {"new_request": "fn"}}]})");
  ASSERT_TRUE(wf.WaitState(id, "running")) << json::serialize(wf.Show(id)) << e1.Logs();
  auto request_seen = [](const std::string& url) -> json::object {
    Result<HttpResponse> r = HttpFetch("POST", url + "?a=1&b=two", "hi",
                                       {{"X-Trace", "t-1"},
                                        {"Authorization", "Bearer fn-secret"},
                                        {"Content-Type", "text/plain"},
                                        {"X-Aether-Hops", "0"}});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return {};
    EXPECT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(r->Header("X-Function"), "wfe");
    EXPECT_EQ(r->Header("Cache-Control"), "no-store");
    EXPECT_EQ(r->Header("Content-Type"), "application/json");
    EXPECT_EQ(r->Header("Content-Length"), std::to_string(r->body.size()));
    EXPECT_EQ(r->Header("Server"), "aether");
    for (const char* absent : {"X-Split", "Set-Cookie", "Transfer-Encoding", "bad name"}) {
      EXPECT_EQ(r->Header(absent), "") << absent;
    }
    boost::system::error_code ec;
    json::value v = json::parse(r->body, ec);
    return !ec && v.is_object() ? v.as_object() : json::object{};
  };
  for (const std::string& base : {e1.process().url(), control.url()}) {
    SCOPED_TRACE(base);
    json::object seen = request_seen(base + "/wf/eh/hello");
    EXPECT_EQ(seen["method"], "Post") << json::serialize(seen);
    EXPECT_EQ(seen["path"], "/hello?a=1&b=two");
    EXPECT_EQ(seen["host"], json::value(base.substr(std::string("http://").size())));
    ASSERT_TRUE(seen["headers"].is_object()) << json::serialize(seen);
    json::object& h = seen["headers"].as_object();
    EXPECT_EQ(h["x-trace"], "t-1");
    EXPECT_EQ(h["authorization"], "Bearer fn-secret");
    EXPECT_EQ(h["content-type"], "text/plain");
    for (const char* absent :
         {"host", "content-length", "x-aether-hops", "x-forwarded-host", "connection"}) {
      EXPECT_FALSE(h.contains(absent)) << absent << " in " << json::serialize(h);
    }
  }
}

TEST(WorkflowTest, KilledEngineIsHealedAndDeliveryContinues) {
  Control control;
  Engine e1(control, "edge-1", "zone = \"a\"");
  Engine e2(control, "edge-2", "zone = \"b\"");
  Engine e3(control, "edge-3", "zone = \"b\"");
  Workflows wf{control};
  DeployPipeline(control);
  // Ingress and parse on edge-1 (zone a); filter and log in zone b (two nodes).
  std::string spec = R"({"functions": [
      {"name": "parse", "function": "pipeline-parse", "output_mapping": {"out": "filter"},
       "annotations": {"label_match_all": ["zone=a"]}},
      {"name": "filter", "function": "pipeline-filter", "output_mapping": {"out": "log"},
       "annotations": {"init_payload": "{\"field\":\"amount\",\"min\":0}",
                       "label_match_all": {"zone": "b"}}}],
    "resources": [
      {"name": "ingress", "class_type": "http-ingress", "configurations": {"path": "in"},
       "output_mapping": {"new_request": "parse"}, "annotations": {"label_match_all": ["zone=a"]}},
      {"name": "log", "class_type": "file-log", "configurations": {"filename": "out.log"},
       "annotations": {"label_match_all": ["zone=b"]}}]})";
  std::string id = wf.Apply(spec);
  ASSERT_TRUE(wf.WaitState(id, "running")) << json::serialize(wf.Show(id));
  std::string ingress = wf.IngressUrl(id);
  ASSERT_EQ(Post(ingress, R"({"amount": 1})").status, 200);

  std::string filter_node = wf.Placement(id)[id + "/filter/0"];
  ASSERT_TRUE(filter_node == "edge-2" || filter_node == "edge-3") << filter_node;
  Engine& victim = filter_node == "edge-2" ? e2 : e3;
  std::string survivor = filter_node == "edge-2" ? "edge-3" : "edge-2";
  auto killed_at = Clock::now();
  victim.Kill9();

  // Within 2 x node_timeout (1 s) the filter runs on the survivor.
  ASSERT_TRUE(WaitFor(
      [&] { return wf.Placement(id)[id + "/filter/0"] == survivor && wf.State(id) == "running"; },
      seconds(8)))
      << json::serialize(wf.Show(id));
  double heal_s = std::chrono::duration<double>(Clock::now() - killed_at).count();
  std::printf("[ info ] healed in %.2f s\n", heal_s);
  EXPECT_LT(heal_s, 4.0);  // generous: 2 x node_timeout + polling, on a noisy machine
  // Recorded just after the new placement is committed: a reader can see
  // the placement first.
  EXPECT_TRUE(WaitFor([&] { return !control.Events("node_lost", "control").empty(); }));
  EXPECT_TRUE(WaitFor([&] { return !control.Events("instance_moved", "control").empty(); }));

  // Delivery continues through the survivor.
  ASSERT_TRUE(WaitFor([&] { return Post(ingress, R"({"amount": 7})").status == 200; }));
  for (int i = 0; i < 10; ++i) ASSERT_EQ(Post(ingress, R"({"amount": 5})").status, 200);
}

TEST(WorkflowTest, MaxInstancesSpreadAndLabelsHonoured) {
  Control control;
  Engine e1(control, "edge-1", "zone = \"eu\"");
  Engine e2(control, "edge-2", "zone = \"eu\"");
  Workflows wf{control};
  ASSERT_EQ(control.Deploy("echo-wf", "wf_echo").status, 201);

  // Two instances on two distinct nodes; casts balanced over both.
  std::string id = wf.Apply(R"({"functions": [{"name": "echo", "function": "echo-wf",
      "annotations": {"max_instances": 2, "label_match_all": ["zone=eu"]}}],
      "resources": [{"name": "in", "class_type": "http-ingress",
                     "configurations": {"path": "e", "mode": "call"},
                     "output_mapping": {"new_request": "echo"}}]})");
  ASSERT_TRUE(wf.WaitState(id, "running")) << json::serialize(wf.Show(id));
  std::map<std::string, std::string> placed = wf.Placement(id);
  std::set<std::string> nodes{placed[id + "/echo/0"], placed[id + "/echo/1"]};
  EXPECT_EQ(nodes, (std::set<std::string>{"edge-1", "edge-2"}));
  std::string ingress = wf.IngressUrl(id);
  for (int i = 0; i < 20; ++i) {
    HttpResponse r = Post(ingress, "ping" + std::to_string(i));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.body, "ping" + std::to_string(i));
  }
  ASSERT_TRUE(WaitFor([&] {
    return wf.Instance(id, id + "/echo/0")["events"].to_number<int64_t>() >= 5 &&
           wf.Instance(id, id + "/echo/1")["events"].to_number<int64_t>() >= 5;
  })) << json::serialize(wf.Show(id));

  // Labels: a workflow for zone us stays pending with the reason, and is
  // placed when a us node joins.
  std::string us = wf.Apply(R"({"functions": [{"name": "echo", "function": "echo-wf",
      "annotations": {"label_match_all": ["zone=us"]}}]})");
  ASSERT_TRUE(wf.WaitState(us, "pending"));
  EXPECT_NE(Str(wf.Show(us)["reason"]).find("zone=us"), std::string::npos)
      << Str(wf.Show(us)["reason"]);
  Engine e3(control, "edge-3", "zone = \"us\"");
  ASSERT_TRUE(wf.WaitState(us, "running")) << json::serialize(wf.Show(us));
  EXPECT_EQ(wf.Placement(us)[us + "/echo/0"], "edge-3");

  // Delete stops the instances: the ingress is gone.
  ASSERT_EQ(control.Call("DELETE", "/api/workflows/" + id).status, 200);
  EXPECT_TRUE(WaitFor([&] { return Post(ingress, "x").status == 404; }));
  EXPECT_TRUE(IsError(control.Call("GET", "/api/workflows/" + id), 404, "not_found"));
}

// "ping" sent to a call-mode ingress of an echo, one request after another
// on a thread of its own until Stop: how many came back, how many did not.
class EchoLoad {
 public:
  explicit EchoLoad(std::string url) : url_(std::move(url)), thread_([this] { Run(); }) {}
  ~EchoLoad() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int ok() const { return ok_; }
  int failed() const { return failed_; }

 private:
  void Run() {
    while (!stop_) {
      HttpResponse r = Post(url_, "ping");
      (r.status == 200 && r.body == "ping" ? ok_ : failed_)++;
    }
  }
  std::string url_;
  std::atomic<bool> stop_{false};
  std::atomic<int> ok_{0}, failed_{0};
  std::thread thread_;  // last: it starts once the rest exists
};

TEST(WorkflowTest, CordonKeepsNewInstancesOffAndDrainMovesThemWhileDeliveryGoesOn) {
  Control control;
  Engine e1(control, "edge-1", "zone = \"eu\"");
  Engine e2(control, "edge-2", "zone = \"eu\"");
  Workflows wf{control};
  ASSERT_EQ(control.Deploy("echo-wf", "wf_echo").status, 201);
  auto cli = [&](std::vector<std::string> args) { return ControlCli(control, std::move(args)); };
  auto spec = [](const std::string& path) {
    return R"({"functions": [{"name": "echo", "function": "echo-wf",
        "annotations": {"label_match_all": ["zone=eu"]}}],
        "resources": [{"name": "in", "class_type": "http-ingress",
                       "configurations": {"path": ")" +
           path + R"(", "mode": "call"},
                       "output_mapping": {"new_request": "echo"},
                       "annotations": {"node_id_match_any": ["edge-2"]}}]})";
  };

  // Cordoned edge-1: a new workflow's echo goes to edge-2, though edge-2
  // already runs the ingress.
  CliRun c = cli({"nodes", "cordon", "edge-1"});
  ASSERT_EQ(c.exit_code, 0) << Show(c);
  EXPECT_EQ(c.out,
            "cordoned edge-1: no new workflow instances go there; its 0 workflow instances stay "
            "there\n");
  std::string a = wf.Apply(spec("a"));
  ASSERT_TRUE(wf.WaitState(a, "running")) << json::serialize(wf.Show(a));
  EXPECT_EQ(wf.Placement(a)[a + "/echo/0"], "edge-2");
  ASSERT_EQ(cli({"nodes", "uncordon", "edge-1"}).exit_code, 0);
  std::string b = wf.Apply(spec("b"));
  ASSERT_TRUE(wf.WaitState(b, "running")) << json::serialize(wf.Show(b));
  EXPECT_EQ(wf.Placement(b)[b + "/echo/0"], "edge-1");  // fewest instances again
  CliRun ls = cli({"nodes", "ls"});
  EXPECT_NE(ls.out.find("SCHEDULING"), std::string::npos) << ls.out;

  // Drain edge-1 while requests flow through b's echo there: it moves to
  // edge-2, the CLI waits for it, and every request is answered (a call in
  // flight when the instance moves may fail; it is counted, not hidden).
  std::string ingress = wf.IngressUrl(b);
  EchoLoad load(ingress);
  CliRun d = cli({"nodes", "drain", "edge-1"});
  ASSERT_EQ(d.exit_code, 0) << Show(d);
  EXPECT_EQ(d.out,
            "drained edge-1: 1 workflow instances moved; it takes no new ones until uncordoned\n");
  EXPECT_EQ(wf.Placement(b)[b + "/echo/0"], "edge-2");
  ASSERT_TRUE(wf.WaitState(b, "running"));
  ASSERT_TRUE(WaitFor([&] { return load.ok() > 20; }));
  int ok_after_drain = load.ok();
  ASSERT_TRUE(WaitFor([&] { return load.ok() > ok_after_drain + 20; }));
  load.Stop();
  std::printf("[ info ] during the drain: %d answered, %d failed\n", load.ok(), load.failed());
  EXPECT_TRUE(WaitFor([&] { return !control.Events("node_draining", "api").empty(); }));
  json::object listed = Obj(control.Call("GET", "/api/nodes"));
  for (const json::value& n : listed["nodes"].as_array()) {
    if (Str(n.as_object().at("node_id")) != "edge-1") continue;
    EXPECT_EQ(Str(n.as_object().at("scheduling")), "draining");
    EXPECT_EQ(n.as_object().at("instances").to_number<int64_t>(), 0);
  }

  // Bad input: an unknown node, an unknown action, an id that is not one.
  CliRun unknown = cli({"nodes", "drain", "edge-9"});
  EXPECT_EQ(unknown.exit_code, 1) << Show(unknown);
  EXPECT_NE(unknown.err.find("no node edge-9"), std::string::npos) << Show(unknown);
  CliRun bad_id = cli({"nodes", "cordon", "../x"});
  EXPECT_EQ(bad_id.exit_code, 2) << Show(bad_id);
  EXPECT_TRUE(IsError(control.Call("POST", "/api/nodes/edge-1/reboot"), 404, "not_found"));
  EXPECT_TRUE(IsError(control.Call("POST", "/api/nodes/edge-9/cordon"), 404, "not_found"));
  HttpResponse anon = Post(control.url() + "/api/nodes/edge-1/uncordon", "");
  EXPECT_EQ(anon.status, 401);

  // Draining the last node the workflows may use: their instances have
  // nowhere to go and keep running there; drain says so after its timeout.
  // A new workflow is pending with the reason, and runs once uncordoned.
  CliRun stuck = cli({"nodes", "drain", "edge-2", "--timeout", "1"});
  EXPECT_EQ(stuck.exit_code, 1) << Show(stuck);
  EXPECT_NE(stuck.err.find("still has 4 of its 4 workflow instances"), std::string::npos)
      << Show(stuck);
  EXPECT_EQ(wf.State(a), "running");
  EXPECT_EQ(Post(wf.IngressUrl(a), "still").body, "still");
  std::string c2 = wf.Apply(spec("c"));
  ASSERT_TRUE(wf.WaitState(c2, "pending")) << json::serialize(wf.Show(c2));
  EXPECT_NE(Str(wf.Show(c2)["reason"]).find("takes no new instances"), std::string::npos)
      << Str(wf.Show(c2)["reason"]);
  ASSERT_EQ(cli({"nodes", "uncordon", "edge-2"}).exit_code, 0);
  ASSERT_TRUE(wf.WaitState(c2, "running")) << json::serialize(wf.Show(c2));
}

TEST(WorkflowTest, ThePlacementPolicyComesFromTheControlPlanesConfig) {
  Control control("[workflow]\nplacement = \"round-robin\"\n");
  Engine e1(control, "edge-1");
  Engine e2(control, "edge-2");
  Workflows wf{control};
  ASSERT_EQ(control.Deploy("echo-wf", "wf_echo").status, 201);
  // Three instances pinned to edge-1; then two free ones. Least-loaded would
  // put both on edge-2 (fewer instances); round-robin alternates.
  std::string pinned = wf.Apply(R"({"functions": [{"name": "echo", "function": "echo-wf",
      "annotations": {"max_instances": 3, "node_id_match_any": ["edge-1"]}}]})");
  ASSERT_TRUE(wf.WaitState(pinned, "running")) << json::serialize(wf.Show(pinned));
  std::vector<std::string> nodes;
  for (int i = 0; i < 2; ++i) {
    std::string id = wf.Apply(R"({"functions": [{"name": "echo", "function": "echo-wf"}]})");
    ASSERT_TRUE(wf.WaitState(id, "running")) << json::serialize(wf.Show(id));
    nodes.push_back(wf.Placement(id)[id + "/echo/0"]);
  }
  EXPECT_EQ(nodes, (std::vector<std::string>{"edge-2", "edge-1"}));
}

TEST(WorkflowTest, MigrateMovesAComponentNowWhileRequestsFlow) {
  Control control;
  Engine e1(control, "edge-1");
  Engine e2(control, "edge-2");
  Engine e3(control, "edge-3");
  Workflows wf{control};
  ASSERT_EQ(control.Deploy("echo-wf", "wf_echo").status, 201);
  auto cli = [&](std::vector<std::string> args) { return ControlCli(control, std::move(args)); };
  std::string id = wf.Apply(R"({"name": "mig",
      "functions": [{"name": "echo", "function": "echo-wf",
                     "annotations": {"node_id_match_any": ["edge-1", "edge-2"]}}],
      "resources": [{"name": "in", "class_type": "http-ingress",
                     "configurations": {"path": "m", "mode": "call"},
                     "output_mapping": {"new_request": "echo"},
                     "annotations": {"node_id_match_any": ["edge-3"]}}]})");
  ASSERT_TRUE(wf.WaitState(id, "running")) << json::serialize(wf.Show(id));
  std::string from = wf.Placement(id)[id + "/echo/0"];
  std::string to = from == "edge-1" ? "edge-2" : "edge-1";
  std::string ingress = wf.IngressUrl(id);

  EchoLoad load(ingress);
  ASSERT_TRUE(WaitFor([&] { return load.ok() > 20; }));
  CliRun m = cli({"workflow", "migrate", id, "--component", "echo", "--node", to});
  ASSERT_EQ(m.exit_code, 0) << Show(m);
  EXPECT_EQ(m.out, "moved 1 instance of mig (echo) to " + to + "\n");
  EXPECT_EQ(wf.Placement(id)[id + "/echo/0"], to);
  ASSERT_TRUE(wf.WaitState(id, "running"));
  int before = load.ok();
  ASSERT_TRUE(WaitFor([&] { return load.ok() > before + 20; }));
  load.Stop();
  std::printf("[ info ] during the migration: %d answered, %d failed\n", load.ok(), load.failed());
  EXPECT_TRUE(WaitFor([&] {
    for (const json::object& e : control.Events("instance_moved", "api")) {
      if (Str(e.at("data").as_object().at("to")) == to) return true;
    }
    return false;
  }));
  // Stays there: the orchestrator's passes do not move it back.
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  EXPECT_EQ(wf.Placement(id)[id + "/echo/0"], to);
  // Already there: nothing moves.
  CliRun again = cli({"workflow", "migrate", id, "--component", "echo", "--node", to});
  EXPECT_EQ(again.out, "moved 0 instances of mig (echo) to " + to + "\n") << Show(again);

  // Refusals, each naming why.
  auto refused = [&](std::vector<std::string> args, const std::string& needle) {
    CliRun r = cli(std::move(args));
    EXPECT_EQ(r.exit_code, 1) << Show(r);
    EXPECT_NE(r.err.find(needle), std::string::npos) << Show(r);
  };
  refused({"workflow", "migrate", id, "--component", "echo", "--node", "edge-3"},
          "may run only on edge-1, edge-2");
  refused({"workflow", "migrate", id, "--component", "nope", "--node", to}, "no component");
  refused({"workflow", "migrate", id, "--node", "edge-9"}, "no node edge-9");
  refused({"workflow", "migrate", "ghost", "--node", to}, "no workflow");
  ASSERT_EQ(cli({"nodes", "cordon", from}).exit_code, 0);
  refused({"workflow", "migrate", id, "--component", "echo", "--node", from}, "cordoned");
  EXPECT_TRUE(IsError(control.Call("POST", "/api/workflows/mig/migrate", R"({"nodes": "x"})"), 400,
                      "invalid_argument"));
  EXPECT_TRUE(
      IsError(control.Call("POST", "/api/workflows/mig/migrate", "{"), 400, "invalid_request"));
  EXPECT_TRUE(IsError(control.Call("POST", "/api/workflows/mig/move", "{}"), 404, "not_found"));
  CliRun no_node = cli({"workflow", "migrate", id});
  EXPECT_EQ(no_node.exit_code, 2) << Show(no_node);
}

TEST(WorkflowTest, TrapRestartsAndIsReportedCallTimesOut) {
  Control control;
  Engine e1(control, "edge-1");
  Workflows wf{control};
  ASSERT_EQ(control.Deploy("trapper", "wf_trap").status, 201);
  ASSERT_EQ(control.Deploy("slow", "wf_slow").status, 201);
  ASSERT_EQ(control.Deploy("forward", "wf_forward").status, 201);

  // ingress (call) -> trapper -> forward? trapper forwards non-trap payloads to "out".
  std::string id = wf.Apply(R"({"functions": [
      {"name": "t", "function": "trapper", "output_mapping": {"out": "log"}}],
    "resources": [
      {"name": "in", "class_type": "http-ingress", "configurations": {"path": "t", "mode": "cast"},
       "output_mapping": {"new_request": "t"}},
      {"name": "log", "class_type": "file-log", "configurations": {"filename": "t.log"}}]})");
  ASSERT_TRUE(wf.WaitState(id, "running")) << json::serialize(wf.Show(id));
  std::string ingress = wf.IngressUrl(id);
  EXPECT_EQ(Post(ingress, "before").status, 202);
  EXPECT_EQ(Post(ingress, "trap").status, 202);
  ASSERT_TRUE(WaitFor([&] {
    json::object i = wf.Instance(id, id + "/t/0");
    return i.contains("restarts") && i["restarts"].to_number<int64_t>() >= 1 &&
           i["failures"].to_number<int64_t>() >= 1;
  })) << json::serialize(wf.Show(id));
  ASSERT_TRUE(WaitFor([&] { return !control.Events("instance_trap", "edge-1").empty(); }));
  // The restarted instance keeps handling events.
  ASSERT_TRUE(wf.WaitState(id, "running"));
  EXPECT_EQ(Post(ingress, "after").status, 202);
  std::vector<Engine*> engines{&e1};
  ASSERT_TRUE(WaitFor([&] { return LogLines(engines, id, "t.log").size() == 2; }));
  EXPECT_EQ(LogLines(engines, id, "t.log"), (std::vector<std::string>{"before", "after"}));

  // A call that times out: ingress (call, 300 ms) -> slow (spins 2 s) = 504.
  std::string slow = wf.Apply(R"({"functions": [{"name": "s", "function": "slow"}],
    "resources": [{"name": "in", "class_type": "http-ingress",
                   "configurations": {"path": "s", "timeout_ms": 300},
                   "output_mapping": {"new_request": "s"}}]})");
  ASSERT_TRUE(wf.WaitState(slow, "running")) << json::serialize(wf.Show(slow));
  auto t0 = Clock::now();
  HttpResponse r = Post(wf.IngressUrl(slow), "2000");
  EXPECT_EQ(r.status, 504) << r.body;
  EXPECT_LT(Clock::now() - t0, seconds(2));
}

// A guest reaches a server on 127.0.0.1 through http-egress only when the
// allow list names that address: "localhost", which resolves there, is not
// enough (a name on the list reaches public addresses only).
TEST(WorkflowTest, EgressToLoopbackNeedsTheAddressOnTheList) {
  HttpServer secret{HttpServerOptions{}};
  std::atomic<int> hits{0};
  secret.Route("GET", "/secret", [&hits](HttpRequest&&, Responder respond) {
    ++hits;
    respond(HttpResponse{200, "text/plain", "the-secret", {}});
  });
  ASSERT_TRUE(secret.Start().ok());
  std::string port = std::to_string(secret.port());

  Control control;
  Engine e1(control, "edge-1");
  Workflows wf{control};
  ASSERT_EQ(control.Deploy("caller", "wf_caller").status, 201);
  // ingress (call) -> caller -> egress: the guest calls egress with the
  // posted URL and answers "ok:<body>" or "err:<code>".
  auto apply = [&](const std::string& name, const std::string& allow) {
    std::string id = wf.Apply(R"({"name": ")" + name + R"(",
      "functions": [{"name": "c", "function": "caller", "output_mapping": {"out": "egress"}}],
      "resources": [
        {"name": "in", "class_type": "http-ingress", "configurations": {"path": "in"},
         "output_mapping": {"new_request": "c"}},
        {"name": "egress", "class_type": "http-egress", "configurations": {"allow": ")" +
                              allow + R"("}}]})");
    EXPECT_TRUE(wf.WaitState(id, "running")) << json::serialize(wf.Show(id));
    return wf.IngressUrl(id);
  };

  std::string by_name = apply("by-name", "localhost:" + port);
  HttpResponse refused = Post(by_name, "http://localhost:" + port + "/secret");
  EXPECT_EQ(refused.status, 200) << refused.body;
  EXPECT_EQ(refused.body, "err:-4") << "AETHER_EFAILED";
  for (const char* spelling : {"2130706433", "0x7f.1", "017700000001", "[::ffff:127.0.0.1]"}) {
    HttpResponse r = Post(by_name, "http://" + std::string(spelling) + ":" + port + "/secret");
    EXPECT_EQ(r.body, "err:-4") << spelling;
  }
  EXPECT_EQ(hits, 0) << "the server must never see a request";

  std::string by_address = apply("by-address", "localhost:" + port + ",127.0.0.1:" + port);
  for (const char* host : {"localhost", "127.0.0.1", "[::ffff:127.0.0.1]"}) {
    HttpResponse ok = Post(by_address, "http://" + std::string(host) + ":" + port + "/secret");
    EXPECT_EQ(ok.body, "ok:the-secret") << host << ": " << e1.Logs();
  }
  EXPECT_EQ(hits, 3);
}

TEST(WorkflowTest, InvalidSpecsAreRejectedWithThePath) {
  Control control;
  ASSERT_EQ(control.Deploy("echo-wf", "wf_echo").status, 201);
  struct Case {
    std::string spec;
    std::string path;
  };
  std::vector<Case> cases = {
      {R"({"functions": [{"name": "a", "function": "nope"}]})", "functions[0].function"},
      {R"({"functions": [{"name": "a", "function": "echo-wf", "output_mapping": {"out": "b"}}]})",
       "functions[0].output_mapping.out"},
      {R"({"functions": [{"name": "a", "function": "echo-wf"}, {"name": "a", "function": "echo-wf"}]})",
       "functions[1].name"},
      {R"({"functions": [{"name": "a", "function": "echo-wf", "annotations": {"max_instances": 0}}]})",
       "functions[0].annotations.max_instances"},
      {R"({"resources": [{"name": "r", "class_type": "teleport"}]})", "resources[0].class_type"},
      {R"({"resources": [{"name": "r", "class_type": "timer", "configurations": {"period_ms": "1"}}]})",
       "resources[0].configurations"},
      {R"({"functions": [{"name": "../x", "function": "echo-wf"}]})", "functions[0].name"},
      {R"([1, 2])", ""},
      {R"({"functions": [)", ""},
  };
  for (const Case& c : cases) {
    HttpResponse r = control.Call("POST", "/api/workflows", c.spec);
    EXPECT_TRUE(IsError(r, 400, "invalid_spec")) << c.spec << " -> " << r.body;
    EXPECT_NE(Str(Obj(r)["error"]).find(c.path), std::string::npos) << c.spec << " -> " << r.body;
  }
  HttpResponse unknown = control.Call(
      "POST", "/api/workflows", R"({"resources": [{"name": "r", "class_type": "teleport"}]})");
  EXPECT_NE(unknown.body.find("http-ingress"), std::string::npos) << unknown.body;
  EXPECT_EQ(Str(Obj(control.Call("GET", "/api/workflows"))["workflows"].as_array().empty()
                    ? json::value("empty")
                    : json::value("not empty")),
            "empty");
}

}  // namespace
}  // namespace aether::testing
