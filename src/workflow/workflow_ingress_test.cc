#include <gtest/gtest.h>

#include <future>
#include <mutex>

#include "workflow/workflow_host.h"
#include "workflow/workflow_test_util.h"

namespace aether::workflow {
namespace {

using namespace testing;  // NOLINT

class WorkflowIngressTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto h = WorkflowHost::Create(TestOptions(&remote_, nullptr));
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    host_ = std::move(*h);
    auto echo = Fn("echo", "wf_echo"), slow = Fn("slow", "wf_slow"), fwd = Fn("fwd", "wf_forward");
    fwd.outputs["out"] = {Remote("wf-test/sink/0")};
    std::vector<InstanceAssignment> all = {
        echo,
        slow,
        fwd,
        IngressOf("in", {{"path", "orders"}, {"content_type", "text/plain"}}, echo.id),
        IngressOf("async", {{"mode", "cast"}}, fwd.id),
        IngressOf("late", {{"timeout_ms", "100"}}, slow.id),
        IngressOf("ecast", {{"format", "edgeless"}, {"async", "true"}, {"encode_base64", "true"}},
                  fwd.id)};
    // An EDGELESS-format ingress in front of a function on another node.
    InstanceAssignment ecall =
        IngressOf("ecall", {{"format", "edgeless"}, {"path", "hello"}, {"method", ""}}, echo.id);
    ecall.outputs["new_request"] = {Remote("wf-test/efn/0")};
    all.push_back(ecall);
    std::vector<std::string> ids;
    for (const auto& a : all) ids.push_back(a.id);
    host_->Apply(all);
    ASSERT_TRUE(Eventually([&] { return Running(*host_, ids); }));
  }
  void TearDown() override { host_->Stop(); }

  IngressReply Request(const std::string& workflow, const std::string& path,
                       const std::string& method, std::string body) {
    std::promise<IngressReply> p;
    host_->Ingress(workflow, path, method, std::move(body),
                   [&p](IngressReply r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }

  FakeRemote remote_;
  std::unique_ptr<WorkflowHost> host_;
};

TEST_F(WorkflowIngressTest, CallModeAnswersWithTheReply) {
  IngressReply r = Request(kWf, "orders", "POST", "order #1");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "order #1");
  EXPECT_EQ(r.content_type, "text/plain");
  r = Request(kWf, "/orders/", "PUT", "");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "");
}

TEST_F(WorkflowIngressTest, CastModeAccepts) {
  IngressReply r = Request(kWf, "async", "POST", "fire");
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(r.body, "{\"accepted\":true}");
  ASSERT_TRUE(remote_.WaitFor(1));
  EXPECT_EQ(remote_.sent()[0].payload, "fire");
  EXPECT_EQ(remote_.sent()[0].source, "fwd");
}

TEST_F(WorkflowIngressTest, EdgelessFormatCallsWithEdgelessHttpJson) {
  std::mutex mu;
  std::string seen;
  std::string answer = R"({"body":[111,107],"status":201,"headers":{"Content-Type":"text/x"}})";
  remote_.on_call = [&](const OutputTarget&, std::string_view payload) -> Result<CallReply> {
    std::lock_guard lock(mu);
    seen = std::string(payload);
    // "none": the function answers CallRet::NoReply.
    return CallReply{answer == "none" ? "" : answer, answer == "none"};
  };
  IngressReply r = Request(kWf, "hello", "POST", "hi");
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.body, "ok");
  EXPECT_EQ(r.content_type, "text/x");
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(seen, R"({"method":"Post","protocol":"Unknown","host":"","path":"/hello",)"
                    R"("body":[104,105],"headers":{}})");
  }
  // What the HTTP request had: the host, the query, the end-to-end headers.
  std::vector<std::pair<std::string, std::string>> headers = {
      {"X-Trace", "t-1"},          {"Connection", "keep-alive"},
      {"Host", "ignored"},         {"Content-Length", "2"},
      {"X-Aether-Hops", "1"},      {"Proxy-Authorization", "x"},
      {"X-Binary", "caf\xc3\xa9"}, {"x-trace", "t-2"}};
  IngressHttp http{"edge.example:8080", "a=1&b=2", &headers};
  std::promise<IngressReply> p;
  host_->Ingress(kWf, "hello", "PUT", "", &http, "hi",
                 [&p](IngressReply rep) { p.set_value(std::move(rep)); });
  EXPECT_EQ(p.get_future().get().status, 201);
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(seen, R"({"method":"Put","protocol":"Unknown","host":"edge.example:8080",)"
                    R"("path":"/hello?a=1&b=2","body":[104,105],"headers":{"x-trace":"t-2"}})");
    answer = "not json";
  }
  r = Request(kWf, "hello", "GET", "");
  EXPECT_EQ(r.status, 502) << r.body;
  {
    std::lock_guard lock(mu);
    answer = "none";
  }
  r = Request(kWf, "hello", "GET", "");
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_NE(r.body.find("\"no_reply\""), std::string::npos) << r.body;
  // A method EDGELESS has no name for cannot be given to its functions.
  r = Request(kWf, "hello", "OPTIONS", "");
  EXPECT_EQ(r.status, 405) << r.body;
}

TEST_F(WorkflowIngressTest, EdgelessFormatCastsAnswerOkAndEncodeBase64) {
  IngressReply r = Request(kWf, "ecast", "POST", "fire");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "OK");
  ASSERT_TRUE(remote_.WaitFor(1));
  EXPECT_EQ(remote_.sent()[0].payload, "ZmlyZQ==");
}

TEST_F(WorkflowIngressTest, UnknownPathIs404AndWrongMethod405) {
  IngressReply r = Request(kWf, "nope", "POST", "x");
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("\"code\":\"not_found\""), std::string::npos) << r.body;
  r = Request("wf-other", "orders", "POST", "x");
  EXPECT_EQ(r.status, 404);
  r = Request(kWf, "orders", "GET", "");
  EXPECT_EQ(r.status, 405);
  EXPECT_NE(r.body.find("\"error\""), std::string::npos) << r.body;
}

TEST_F(WorkflowIngressTest, SlowTargetIs504) {
  IngressReply r = Request(kWf, "late", "POST", "1500");
  EXPECT_EQ(r.status, 504);
  EXPECT_NE(r.body.find("\"code\":\"timeout\""), std::string::npos) << r.body;
  // In that order: the 504 (after the route's 100 ms) came while the target
  // was still busy with the 1.5 s event, not once it had finished.
  EXPECT_EQ(StatusOf(*host_, Id("slow"))->events, 0);
}

}  // namespace
}  // namespace aether::workflow
