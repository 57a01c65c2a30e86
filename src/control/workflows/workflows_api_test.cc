// /api/workflows and /node/workflows through a real ControlService on
// 127.0.0.1 (port 0), with a temporary data directory.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <future>
#include <map>

#include "common/testing/eventually.h"
#include "common/testing/http_error.h"
#include "control/control_service.h"
#include "control/testing/service_call.h"
#include "control/testing/service_test.h"

namespace aether::control {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

class WorkflowsApiTest : public control::testing::ServiceTest {
 protected:
  WorkflowsApiTest() : ServiceTest("aether-wfapi-test") {}
  void SetUp() override {
    ServiceTest::SetUp();
    ASSERT_EQ(
        Call("POST", "/api/functions", R"({"name": "echo", "wasm_b64": "AGFzbQEAAAA="})").status,
        201);
  }
  // `token`: "admin", "join", "node:<id>" (that node's credential, with
  // X-Aether-Node), "" (none).
  HttpResponse Call(const std::string& method, const std::string& path, std::string_view body = {},
                    const std::string& token = "admin") {
    return control::testing::CallService(*service_, method, path, body, token, secrets_);
  }
  static json::object Obj(const HttpResponse& r) {
    json::value v = json::parse(r.body);
    return v.is_object() ? v.as_object() : json::object{};
  }
  void RegisterNode(const std::string& id) {
    HttpResponse r = Call("POST", "/register",
                          R"({"node_id": ")" + id + R"(", "url": "http://127.0.0.1:1"})", "join");
    ASSERT_EQ(r.status, 200) << r.body;
    secrets_[id] = std::string(Obj(r)["credential"].as_string());
  }

  std::map<std::string, std::string> secrets_;  // node id -> credential
};

constexpr std::string_view kSpec = R"({"name": "pipe",
  "functions": [{"name": "parse", "function": "echo", "output_mapping": {"out": "sink"}},
                {"name": "sink", "function": "echo"}],
  "resources": [{"name": "in", "class_type": "http-ingress", "output_mapping": {"out": "parse"}}]})";

TEST_F(WorkflowsApiTest, BadInputs) {
  EXPECT_TRUE(IsUnauthenticated(Call("POST", "/api/workflows", kSpec, "")));
  EXPECT_TRUE(IsError(Call("GET", "/api/workflows", "", "join"), 403, "permission_denied"));
  HttpResponse bad_json = Call("POST", "/api/workflows", R"({"functions": [)");
  EXPECT_EQ(bad_json.status, 400) << bad_json.body;
  EXPECT_EQ(Obj(bad_json)["code"], "invalid_spec");
  HttpResponse bad_target =
      Call("POST", "/api/workflows",
           R"({"functions": [{"name": "a", "function": "echo", "output_mapping": {"out": "b"}}]})");
  EXPECT_TRUE(IsError(bad_target, 400, "invalid_spec"));
  EXPECT_TRUE(std::string(Obj(bad_target)["error"].as_string())
                  .starts_with("functions[0].output_mapping.out"))
      << bad_target.body;
  EXPECT_TRUE(IsError(Call("POST", "/api/workflows", std::string((1 << 20) + 1, ' ')), 413,
                      "payload_too_large"));
  EXPECT_TRUE(IsError(Call("GET", "/api/workflows/nope"), 404, "not_found"));
  EXPECT_TRUE(IsError(Call("GET", "/api/workflows/..%2Fx"), 404, "not_found"));
  EXPECT_TRUE(IsError(Call("DELETE", "/api/workflows/nope"), 404, "not_found"));
  EXPECT_TRUE(IsUnauthenticated(Call("GET", "/node/workflows?node_id=ghost", "", "")));
  // The join token only admits new nodes; a node reads and reports for itself only.
  RegisterNode("n1");
  RegisterNode("n2");
  EXPECT_TRUE(
      IsError(Call("GET", "/node/workflows?node_id=n1", "", "join"), 403, "permission_denied"));
  EXPECT_TRUE(
      IsError(Call("GET", "/node/workflows?node_id=n1", "", "admin"), 403, "permission_denied"));
  EXPECT_TRUE(
      IsError(Call("GET", "/node/workflows?node_id=n1", "", "node:n2"), 403, "permission_denied"));
  EXPECT_EQ(Call("GET", "/node/workflows?node_id=n1", "", "node:n1").status, 200);
  EXPECT_EQ(Call("GET", "/node/workflows", "", "node:n1").status, 200);
  secrets_["ghost"] = secrets_["n1"];
  EXPECT_TRUE(
      IsError(Call("GET", "/node/workflows?node_id=ghost", "", "node:ghost"), 404, "unknown_node"));
  EXPECT_TRUE(IsError(Call("GET", "/node/workflows?node_id=n1&since=x", "", "node:n1"), 400,
                      "invalid_argument"));
  EXPECT_TRUE(IsError(
      Call("POST", "/node/workflows/status", R"({"node_id": "n1", "instances": []})", "join"), 403,
      "permission_denied"));
  EXPECT_TRUE(IsError(
      Call("POST", "/node/workflows/status", R"({"node_id": "n1", "instances": []})", "node:n2"),
      403, "permission_denied"));
  EXPECT_TRUE(IsError(Call("POST", "/node/workflows/status",
                           R"({"node_id": "n1", "instances": [{"id": 1}]})", "node:n1"),
                      400, "invalid_argument"));
}

TEST_F(WorkflowsApiTest, ApplyShowListDelete) {
  RegisterNode("n1");
  HttpResponse applied = Call("POST", "/api/workflows", kSpec);
  ASSERT_EQ(applied.status, 201) << applied.body;
  json::object a = Obj(applied);
  EXPECT_EQ(a["id"], "pipe");
  EXPECT_EQ(a["state"], "pending");
  EXPECT_EQ(a["ingress"].as_array()[0].at("url"), "http://127.0.0.1:1/wf/pipe/in");
  HttpResponse dup = Call("POST", "/api/workflows", kSpec);
  EXPECT_TRUE(IsError(dup, 409, "already_exists"));
  EXPECT_TRUE(IsError(Call("DELETE", "/api/functions/echo"), 409, "in_use"));

  json::object list = Obj(Call("GET", "/api/workflows"));
  ASSERT_EQ(list["workflows"].as_array().size(), 1u);
  EXPECT_EQ(list["workflows"].as_array()[0].at("instances"), 3);

  // Status reports show up in GET.
  HttpResponse st = Call("POST", "/node/workflows/status", R"({"node_id": "n1", "instances": [
      {"id": "pipe/parse/0", "state": "running", "events": 7, "failures": 1, "restarts": 1,
       "dropped": 2, "last_error": "trap", "telemetry": {"x": 1.5}},
      {"id": "pipe/sink/0", "state": "running"}, {"id": "pipe/in/0", "state": "running"}]})",
                         "node:n1");
  ASSERT_EQ(st.status, 200) << st.body;
  json::object w = Obj(Call("GET", "/api/workflows/pipe"));
  EXPECT_EQ(w["state"], "running") << json::serialize(w);
  json::object parse = w["instances"].as_array()[0].as_object();
  EXPECT_EQ(parse["id"], "pipe/parse/0");
  EXPECT_EQ(parse["node_id"], "n1");
  EXPECT_EQ(parse["events"], 7);
  EXPECT_EQ(parse["dropped"], 2);
  EXPECT_EQ(parse["last_error"], "trap");
  EXPECT_EQ(parse["telemetry"].at("x"), 1.5);
  EXPECT_TRUE(w["spec"].is_object());

  ASSERT_EQ(Call("DELETE", "/api/workflows/pipe").status, 200);
  EXPECT_TRUE(IsError(Call("GET", "/api/workflows/pipe"), 404, "not_found"));
  EXPECT_EQ(Call("DELETE", "/api/functions/echo").status, 200);
}

TEST_F(WorkflowsApiTest, NodeLongPollWakesOnApplyAndDelete) {
  RegisterNode("n1");
  json::object first = Obj(Call("GET", "/node/workflows?node_id=n1", "", "node:n1"));
  EXPECT_TRUE(first["instances"].as_array().empty());
  int64_t rev = first["revision"].as_int64();

  auto poll = [&](int64_t since) {
    return std::async(std::launch::async, [this, since] {
      auto start = steady_clock::now();
      HttpResponse r =
          Call("GET", "/node/workflows?node_id=n1&since=" + std::to_string(since) + "&wait=20", "",
               "node:n1");
      return std::make_pair(r, steady_clock::now() - start);
    });
  };
  auto parked = poll(rev);
  ASSERT_TRUE(aether::testing::Eventually([&] { return service_->parked_workflow_polls() == 1; }));
  ASSERT_EQ(parked.wait_for(milliseconds(0)), std::future_status::timeout) << "the poll parks";
  ASSERT_EQ(Call("POST", "/api/workflows", kSpec).status, 201);
  auto [r1, t1] = parked.get();
  ASSERT_EQ(r1.status, 200) << r1.body;
  EXPECT_LT(t1, std::chrono::seconds(5));
  json::object got = Obj(r1);
  ASSERT_EQ(got["instances"].as_array().size(), 3u);
  // The protocol's shape: outputs resolved to instance, node and url.
  json::object parse;
  for (const json::value& i : got["instances"].as_array()) {
    if (i.at("component") == "parse") parse = i.as_object();
  }
  EXPECT_EQ(parse["kind"], "function");
  EXPECT_EQ(parse["function"], "echo");
  EXPECT_EQ(parse["sha256"].as_string().size(), 64u);
  json::array out = parse["outputs"].at("out").as_array();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].at("instance"), "pipe/sink/0");
  EXPECT_EQ(out[0].at("node_id"), "n1");
  EXPECT_EQ(out[0].at("url"), "http://127.0.0.1:1");

  // Nothing changes: the same revision answers at the deadline... but a
  // delete wakes it at once.
  auto parked2 = poll(got["revision"].as_int64());
  ASSERT_TRUE(aether::testing::Eventually([&] { return service_->parked_workflow_polls() == 1; }));
  ASSERT_EQ(parked2.wait_for(milliseconds(0)), std::future_status::timeout);
  ASSERT_EQ(Call("DELETE", "/api/workflows/pipe").status, 200);
  auto [r2, t2] = parked2.get();
  EXPECT_LT(t2, std::chrono::seconds(5));
  EXPECT_TRUE(Obj(r2)["instances"].as_array().empty()) << r2.body;
}

}  // namespace
}  // namespace aether::control
