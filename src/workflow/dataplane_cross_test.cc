// Two real WorkflowHosts in one process, each behind its own HttpServer and
// Dataplane on 127.0.0.1: casts, calls and the http-ingress route across
// real HTTP, with the wf_* guests. (Their event rate is measured by
// bench/workflow_throughput.cc, aether-bench-workflow.)
#include <gtest/gtest.h>

#include "common/testing/http_fetch.h"
#include "workflow/dataplane.h"
#include "workflow/dataplane_testing.h"
#include "workflow/workflow_test_util.h"

namespace aether::workflow {
namespace {

using std::chrono::milliseconds;
using namespace testing;  // NOLINT: the helpers of workflow_test_util.h

struct Engine {
  explicit Engine(const std::string& node_id)
      : identity(testing::TestIdentity(node_id)),
        dataplane(DataplaneOptions{.identity = identity.get()}),
        server(HttpServerOptions{}) {
    WorkflowHostOptions o = TestOptions(&dataplane, nullptr);
    o.node_id = node_id;
    auto h = WorkflowHost::Create(std::move(o));
    EXPECT_TRUE(h.ok()) << h.status().message();
    host = std::move(*h);
    dataplane.Register(server, *host);
    EXPECT_TRUE(server.Start().ok());
  }
  ~Engine() {
    host->Stop();
    dataplane.Stop();
    server.Stop();
  }
  OutputTarget Target(const std::string& instance, const std::string& node) const {
    return OutputTarget{instance, node, server.url()};
  }
  int64_t Events(const std::string& id) const {
    auto s = StatusOf(*host, id);
    return s ? s->events : 0;
  }
  // Accepts `sender`'s requests for `instances` here (its assignment's peers).
  void Trust(const Engine& sender, std::set<std::string, std::less<>> instances) {
    dataplane.SetPeers(
        {testing::GrantFor(*sender.identity, identity->node_id(), std::move(instances))});
  }

  std::unique_ptr<NodeIdentity> identity;
  Dataplane dataplane;
  HttpServer server;
  std::unique_ptr<WorkflowHost> host;
};

TEST(DataplaneCrossTest, CastsAndCallsBetweenTwoHosts) {
  Engine a("n1"), b("n2");
  InstanceAssignment echo = Fn("echo", "wf_echo");
  b.host->Apply({echo});
  b.Trust(a, {Id("echo"), Id("nowhere")});

  InstanceAssignment fwd = Fn("fwd", "wf_echo");
  fwd.outputs["out"] = {b.Target(Id("echo"), "n2")};
  InstanceAssignment caller = Fn("caller", "wf_caller");
  caller.outputs["out"] = {b.Target(Id("echo"), "n2")};
  a.host->Apply({fwd, caller});
  ASSERT_TRUE(Eventually([&] { return Running(*a.host, {Id("fwd"), Id("caller")}); }));
  ASSERT_TRUE(Eventually([&] { return Running(*b.host, {Id("echo")}); }));

  // A call that crosses: caller (n1) -> echo (n2) -> reply.
  auto reply = CallSync(*a.host, Id("caller"), "ping");
  ASSERT_TRUE(reply.ok()) << reply.status().message();
  EXPECT_EQ(*reply, "ok:ping");

  // Casts: fwd (n1) forwards each to echo (n2).
  constexpr int kN = 1000;
  for (int i = 0; i < kN; ++i) {
    ASSERT_TRUE(a.host->Cast(Id("fwd"), "test", "e" + std::to_string(i)).ok());
  }
  EXPECT_TRUE(Eventually([&] { return b.Events(Id("echo")) >= kN + 1; })) << b.Events(Id("echo"));
  EXPECT_TRUE(Eventually([&] { return a.dataplane.counters().sent >= static_cast<uint64_t>(kN); }));
  EXPECT_EQ(b.dataplane.counters().calls_received, 1u);

  // An instance that does not run there: the peer drops and counts.
  InstanceAssignment lost = Fn("lost", "wf_caller");
  lost.outputs["out"] = {b.Target(Id("nowhere"), "n2")};
  a.host->Apply({fwd, caller, lost});
  ASSERT_TRUE(Eventually([&] { return Running(*a.host, {Id("lost")}); }));
  auto err = CallSync(*a.host, Id("lost"), "x");
  ASSERT_TRUE(err.ok()) << err.status().message();
  EXPECT_EQ(*err, "err:-4") << "a call to an unknown remote instance fails (AETHER_EFAILED)";
}

TEST(DataplaneCrossTest, IngressOnTheEngineRoute) {
  Engine a("n1");
  InstanceAssignment echo = Fn("echo", "wf_echo");
  InstanceAssignment ingress;
  ingress.id = Id("ingress");
  ingress.workflow = kWf;
  ingress.component = "ingress";
  ingress.kind = InstanceAssignment::Kind::kResource;
  ingress.class_type = "http-ingress";
  ingress.configurations = {{"path", "orders"}, {"methods", "POST"}};
  ingress.outputs["new_request"] = {OutputTarget{Id("echo"), "n1", a.server.url()}};
  a.host->Apply({echo, ingress});
  ASSERT_TRUE(Eventually([&] { return Running(*a.host, {Id("echo"), Id("ingress")}); }));
  auto r = HttpFetch("POST", a.server.url() + "/wf/" + kWf + "/orders", "order-1");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->body, "order-1");
  auto wrong = HttpFetch("GET", a.server.url() + "/wf/" + kWf + "/orders");
  ASSERT_TRUE(wrong.ok());
  EXPECT_EQ(wrong->status, 405);
  auto none = HttpFetch("POST", a.server.url() + "/wf/" + kWf + "/other", "x");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->status, 404);
}

}  // namespace
}  // namespace aether::workflow
