// A serverless resource class end to end: an engine whose operator
// configured [[workflow.serverless]] "double" (an OpenFaaS-style function
// served by this test on 127.0.0.1) advertises it; the control plane
// accepts specs naming the class only then, places the resource on that
// engine, and the engine posts each event there: answers to "out",
// failures to "err", a call's answer back to the caller.
#include <gtest/gtest.h>

#include <string>

#include "cluster.h"
#include "common/http_server.h"
#include "common/testing/http_error.h"
#include "workflows.h"

namespace aether::testing {
namespace {

constexpr std::string_view kSpec = R"({"name": "doubler",
  "resources": [
    {"name": "calls", "class_type": "http-ingress",
     "configurations": {"path": "calls", "mode": "call"}, "output_mapping": {"new_request": "double"}},
    {"name": "casts", "class_type": "http-ingress",
     "configurations": {"path": "casts", "mode": "cast"}, "output_mapping": {"new_request": "double"}},
    {"name": "double", "class_type": "double",
     "output_mapping": {"out": "out-log", "err": "err-log"}},
    {"name": "out-log", "class_type": "file-log", "configurations": {"filename": "out.log"}},
    {"name": "err-log", "class_type": "file-log", "configurations": {"filename": "err.log"}}]})";

TEST(ServerlessTest, AnEngineProvidesTheClassAndRunsIt) {
  HttpServer function{HttpServerOptions{}};
  function.Route("POST", "/", [](HttpRequest&& req, const Responder& respond) {
    try {
      respond(HttpResponse{200, "text/plain", std::to_string(std::stoll(req.body) * 2), {}});
    } catch (const std::exception&) {
      respond(HttpResponse{400, "text/plain", "not a number", {}});
    }
  });
  ASSERT_TRUE(function.Start().ok());

  Control control;
  Engine plain(control, "edge-1");
  Workflows wf{control};
  ASSERT_TRUE(WaitFor([&] { return control.NodeState("edge-1") == "up"; }));
  // No engine provides "double" yet: refused, saying where classes come from.
  HttpResponse r = control.Call("POST", "/api/workflows", std::string(kSpec));
  EXPECT_TRUE(IsError(r, 400, "invalid_spec")) << r.body;
  EXPECT_NE(r.body.find("[[workflow.serverless]]"), std::string::npos) << r.body;

  Engine provider(control, "edge-2", "zone = \"test\"",
                  "[workflow]\n[[workflow.serverless]]\nclass_type = \"double\"\n"
                  "version = \"0.1\"\nfunction_url = \"" +
                      function.url() + "/\"\ntimeout = \"5s\"\n");
  ASSERT_TRUE(WaitFor([&] { return control.NodeState("edge-2") == "up"; }));
  // A serverless class takes no configurations (the engine has its URL).
  std::string with_url(kSpec);
  with_url.replace(with_url.find(R"("class_type": "double",)"), 23,
                   R"("class_type": "double", "configurations": {"url": "http://x"},)");
  r = control.Call("POST", "/api/workflows", with_url);
  EXPECT_TRUE(IsError(r, 400, "invalid_spec")) << r.body;
  EXPECT_NE(r.body.find("resources[2].configurations.url"), std::string::npos) << r.body;

  std::string id = wf.Apply(std::string(kSpec));
  ASSERT_TRUE(wf.WaitState(id, "running")) << json::serialize(wf.Show(id));
  EXPECT_EQ(wf.Placement(id)[id + "/double/0"], "edge-2");

  // A call answers the function's body; a failure is an error answer.
  std::string base = control.url() + "/wf/" + id;
  HttpResponse called = Post(base + "/calls", "21");
  EXPECT_EQ(called.status, 200) << called.body;
  EXPECT_EQ(called.body, "42");
  EXPECT_GE(Post(base + "/calls", "x").status, 500);

  // Casts: answers to "out", failures to "err".
  for (const char* n : {"1", "2", "x", "3"}) ASSERT_EQ(Post(base + "/casts", n).status, 202);
  ASSERT_TRUE(WaitFor([&] {
    return LogLines({&plain, &provider}, id, "out.log").size() == 3 &&
           LogLines({&plain, &provider}, id, "err.log").size() == 1;
  })) << json::serialize(wf.Show(id));
  EXPECT_EQ(LogLines({&plain, &provider}, id, "out.log"),
            (std::vector<std::string>{"2", "4", "6"}));
  EXPECT_NE(LogLines({&plain, &provider}, id, "err.log")[0].find("status 400 returned"),
            std::string::npos);
  ASSERT_EQ(control.Call("DELETE", "/api/workflows/" + id).status, 200);
}

}  // namespace
}  // namespace aether::testing
