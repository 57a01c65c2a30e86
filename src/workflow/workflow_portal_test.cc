// The receiving end of a link between domains: an http-ingress in portal
// mode (ingress.cc) through WorkflowHost::Portal, with the real wf_*
// guests; and both ends over HTTP (a portal resource posting to the
// dataplane's /wf/ route of a host).
#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <string>
#include <vector>

#include "common/http_server.h"
#include "common/sha256.h"
#include "workflow/dataplane.h"
#include "workflow/portal_codec.h"
#include "workflow/resources/portal.h"
#include "workflow/resources/test_context.h"
#include "workflow/testing/memory_event_log.h"
#include "workflow/workflow_host.h"
#include "workflow/workflow_test_util.h"

namespace aether::workflow {
namespace {

using namespace testing;  // NOLINT
using std::chrono::milliseconds;

const std::string kEdgeToken(64, '7');

// A portal ingress at /wf/<kWf>/_portal/<name> whose output is `target`.
InstanceAssignment PortalIngress(const std::string& name, const std::string& target,
                                 ResourceConfigMap extra = {}) {
  ResourceConfigMap config = {
      {"mode", "portal"}, {"token_sha256", Sha256Hex(kEdgeToken)}, {"path", "_portal/" + name}};
  config.insert(extra.begin(), extra.end());
  return IngressOf("portal_" + name, std::move(config), target);
}

IngressReply PortalTo(WorkflowHost& host, const std::string& name, PortalRequest request,
                      std::string body, const std::string& method = "POST") {
  std::promise<IngressReply> p;
  host.Portal(kWf, "_portal/" + name, method, std::move(request), std::move(body),
              [&p](IngressReply r) { p.set_value(std::move(r)); });
  return p.get_future().get();
}

PortalRequest CastRequest(std::string token = kEdgeToken) { return {"cast", std::move(token), ""}; }
PortalRequest CallRequest(std::string timeout_ms) {
  return {"call", kEdgeToken, std::move(timeout_ms)};
}

bool HasCode(const IngressReply& r, const std::string& code) {
  return r.body.find("\"code\":\"" + code + "\"") != std::string::npos;
}

class WorkflowPortalTest : public HostFixture {
 protected:
  void Start(size_t mailbox = 1024) {
    Make({.mailbox = mailbox, .timeout = milliseconds(5000)});
    fwd_.outputs["out"] = {Remote(Id("sink"))};
    slow_.outputs["out"] = {Remote(Id("sink"))};
    ApplyAndWait({echo_, fwd_, slow_, PortalIngress("fwd", fwd_.id),
                  PortalIngress("echo", echo_.id), PortalIngress("slow", slow_.id),
                  PortalIngress("capped", slow_.id, {{"timeout_ms", "200"}}),
                  IngressOf("orders", {{"path", "orders"}}, echo_.id)});
  }

  InstanceAssignment echo_ = Fn("echo", "wf_echo"), fwd_ = Fn("fwd", "wf_forward"),
                     slow_ = Fn("slow", "wf_slow");
};

TEST_F(WorkflowPortalTest, AMissingOrWrongTokenIs403) {
  Start();
  std::string batch = EncodePortalBatch(std::vector<std::string>{"x"});
  IngressReply missing = PortalTo(*host_, "fwd", CastRequest(""), batch);
  EXPECT_EQ(missing.status, 403);
  EXPECT_TRUE(HasCode(missing, "permission_denied")) << missing.body;
  EXPECT_NE(missing.body.find("missing"), std::string::npos) << missing.body;
  IngressReply wrong = PortalTo(*host_, "fwd", CastRequest(std::string(64, '8')), batch);
  EXPECT_EQ(wrong.status, 403);
  EXPECT_TRUE(HasCode(wrong, "permission_denied")) << wrong.body;
  // The digest itself is no token.
  EXPECT_EQ(PortalTo(*host_, "fwd", CastRequest(Sha256Hex(kEdgeToken)), batch).status, 403);
  EXPECT_EQ(PortalTo(*host_, "echo", {"call", "", "100"}, "x").status, 403);
  EXPECT_EQ(remote_.count(), 0u);
}

TEST_F(WorkflowPortalTest, PortalAndPlainRequestsDoNotMix) {
  Start();
  // A portal request to an ingress in another mode.
  std::promise<IngressReply> p;
  host_->Portal(kWf, "orders", "POST", CastRequest(), "AEP1",
                [&p](IngressReply reply) { p.set_value(std::move(reply)); });
  IngressReply r = p.get_future().get();
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(HasCode(r, "not_a_portal")) << r.body;
  // A plain request, or another X-Aether-Portal value, to a portal.
  std::promise<IngressReply> plain;
  host_->Ingress(kWf, "_portal/echo", "POST", "x",
                 [&plain](IngressReply reply) { plain.set_value(std::move(reply)); });
  r = plain.get_future().get();
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(HasCode(r, "portal_only")) << r.body;
  EXPECT_NE(r.body.find("takes only portal requests from another domain"), std::string::npos);
  r = PortalTo(*host_, "echo", {"stream", kEdgeToken, ""}, "x");
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(HasCode(r, "portal_only")) << r.body;
  // Only POST; an unknown path is 404 as for any ingress.
  EXPECT_EQ(PortalTo(*host_, "echo", CallRequest("100"), "x", "PUT").status, 405);
  EXPECT_EQ(PortalTo(*host_, "nope", CastRequest(), "AEP1").status, 404);
}

TEST_F(WorkflowPortalTest, ABatchReachesTheOutputInOrder) {
  Start();
  std::vector<std::string> events = {"one", "two", "", "four", std::string(1000, 'x')};
  IngressReply r = PortalTo(*host_, "fwd", CastRequest(), EncodePortalBatch(events));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"accepted":5})");
  ASSERT_TRUE(remote_.WaitFor(5)) << remote_.count();
  std::vector<FakeRemote::Sent> sent = remote_.sent();
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(sent[i].payload, events[i]) << i;
    EXPECT_EQ(sent[i].source, "fwd");
  }
  // Zero events is a batch too; a malformed one is refused whole.
  EXPECT_EQ(PortalTo(*host_, "fwd", CastRequest(), "AEP1").body, R"({"accepted":0})");
  IngressReply bad = PortalTo(*host_, "fwd", CastRequest(), std::string("AEP1\0\0\0\x09short", 13));
  EXPECT_EQ(bad.status, 400);
  EXPECT_TRUE(HasCode(bad, "invalid_batch")) << bad.body;
  EXPECT_EQ(PortalTo(*host_, "fwd", CastRequest(), "not a batch").status, 400);
  EXPECT_TRUE(Eventually([&] { return StatusOf(*host_, fwd_.id)->events == 5; }));
}

TEST_F(WorkflowPortalTest, AFullTargetTakesAPrefixAndTheAnswerCountsIt) {
  Start(/*mailbox=*/2);
  std::vector<std::string> events(8, "300");
  IngressReply r = PortalTo(*host_, "slow", CastRequest(), EncodePortalBatch(events));
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(r.retry_after_s, 1);
  EXPECT_TRUE(HasCode(r, "full")) << r.body;
  // The mailbox's 2, and perhaps the one the target took out of it already.
  size_t at = r.body.find("\"accepted\":");
  ASSERT_NE(at, std::string::npos) << r.body;
  int accepted = std::stoi(r.body.substr(at + 11));
  EXPECT_GE(accepted, 2) << r.body;
  EXPECT_LE(accepted, 3) << r.body;
  // Exactly those are handled; the refusal is counted once.
  ASSERT_TRUE(Eventually([&] { return StatusOf(*host_, slow_.id)->events == accepted; }));
  EXPECT_NE(metrics_.Render().find("\naether_workflow_refused_total 1\n"), std::string::npos);
}

TEST_F(WorkflowPortalTest, ACallGetsTheReplyWithinTheCallersTimeout) {
  Start();
  IngressReply r = PortalTo(*host_, "echo", CallRequest("1000"), "ping");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "ping");
  EXPECT_EQ(r.content_type, "application/octet-stream");
  // Without the header: the ingress's own timeout_ms.
  EXPECT_EQ(PortalTo(*host_, "echo", CallRequest(""), "p").status, 200);
  // The caller's 100 ms, far below the ingress's 5 s.
  auto start = std::chrono::steady_clock::now();
  r = PortalTo(*host_, "slow", CallRequest("100"), "1000");
  EXPECT_EQ(r.status, 504) << r.body;
  EXPECT_TRUE(HasCode(r, "timeout")) << r.body;
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(900));
  // The ingress's 200 ms caps the caller's 5 s.
  start = std::chrono::steady_clock::now();
  EXPECT_EQ(PortalTo(*host_, "capped", CallRequest("5000"), "1000").status, 504);
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(900));
  for (const char* bad : {"0", "60001", "abc", "-5", "10 ", "1e3"}) {
    r = PortalTo(*host_, "echo", CallRequest(bad), "x");
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_TRUE(HasCode(r, "invalid_timeout")) << r.body;
  }
}

TEST_F(WorkflowPortalTest, BothEndsOverHttp) {
  Start();
  Dataplane dataplane{DataplaneOptions{}};
  HttpServer server{HttpServerOptions{}};
  dataplane.Register(server, *host_);
  ASSERT_TRUE(server.Start().ok());
  resources::testing::FakeContext fake;
  PortalConfig link;
  link.url = server.url() + "/wf/" + kWf + "/_portal/fwd";
  link.token = kEdgeToken;
  link.batch_events = 4;
  auto portal = resources::NewPortal(fake.Make(), link);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(portal->Cast("x", "event " + std::to_string(i)).ok());
  ASSERT_TRUE(remote_.WaitFor(10)) << remote_.count();
  for (int i = 0; i < 10; ++i) EXPECT_EQ(remote_.sent()[i].payload, "event " + std::to_string(i));
  portal->Stop();

  link.url = server.url() + "/wf/" + kWf + "/_portal/echo";
  auto caller = resources::NewPortal(fake.Make(), link);
  Result<std::string> reply = caller->Call("x", "across", milliseconds(2000));
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(*reply, "across");
  // The wrong token is refused by the other end.
  link.token = std::string(64, '8');
  auto stranger = resources::NewPortal(fake.Make(), link);
  Status denied = stranger->Call("x", "across", milliseconds(2000)).status();
  EXPECT_NE(denied.message().find("HTTP 403"), std::string::npos) << denied.ToString();
  caller->Stop();
  stranger->Stop();
  EXPECT_TRUE(fake.failures().empty()) << fake.failures()[0];

  std::string text = metrics_.Render();
  for (const char* series :
       {"aether_portal_events_total{result=\"sent\"}",
        "aether_portal_events_total{result=\"refused\"}",
        "aether_portal_events_total{result=\"dropped\"}", "aether_portal_batches_total",
        "aether_portal_calls_total{result=\"ok\"}", "aether_portal_calls_total{result=\"error\"}",
        "aether_portal_link_errors_total"}) {
    EXPECT_NE(text.find(std::string("\n") + series + " "), std::string::npos) << series;
  }
  server.Stop();
  dataplane.Stop();
}

// At-least-once: the batch is appended to the log, in order, before the
// answer.
TEST(WorkflowPortalDeliveryTest, ABatchIsStoredInTheLogBeforeTheAnswer) {
  auto log = std::make_shared<MemoryEventLog>();
  FakeRemote remote;
  WorkflowHostOptions o = TestOptions(&remote, nullptr);
  o.event_log = log;
  auto host = WorkflowHost::Create(std::move(o));
  ASSERT_TRUE(host.ok()) << host.status().ToString();
  InstanceAssignment in = PortalIngress("fwd", Id("fwd"));
  in.outputs["new_request"] = {Remote(Id("fwd"))};  // runs nowhere: stays in the log
  in.delivery = protocol::Delivery::kAtLeastOnce;
  ASSERT_TRUE(ApplyAndWaitRunning(**host, {in}));
  std::vector<std::string> events = {"a", "b", "c"};
  IngressReply r = PortalTo(**host, "fwd", CastRequest(), EncodePortalBatch(events));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"accepted":3})");
  std::vector<std::string> stored;
  for (const auto& e : log->Unsettled(kWf, "fwd")) stored.push_back(e.payload);
  EXPECT_EQ(stored, events);
  log->set_down(true);
  r = PortalTo(**host, "fwd", CastRequest(), EncodePortalBatch(events));
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_TRUE(HasCode(r, "unavailable")) << r.body;
  EXPECT_NE(r.body.find("\"accepted\":0}"), std::string::npos) << r.body;
  (*host)->Stop();
}

}  // namespace
}  // namespace aether::workflow
