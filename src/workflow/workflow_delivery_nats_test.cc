// At-least-once delivery against a real nats-server (the JetStream event
// log): an http-ingress request retried with the same Idempotency-Key is
// answered 202 each time and stored once.
#include <future>

#include "workflow/internal/event_ids.h"
#include "workflow/jetstream_test_util.h"
#include "workflow/workflow_host.h"
#include "workflow/workflow_test_util.h"

namespace aether::workflow::testing {
namespace {

TEST_F(JetStreamTest, AnIngressRequestRetriedWithItsIdempotencyKeyIsStoredOnce) {
  std::shared_ptr<EventLog> log = Connect();
  ASSERT_NE(log, nullptr);
  FakeRemote remote;
  Recorder events;
  WorkflowHostOptions o = TestOptions(&remote, &events);
  o.event_log = log;
  auto host = WorkflowHost::Create(std::move(o));
  ASSERT_TRUE(host.ok()) << host.status().ToString();
  // The ingress's output leads to "fwd", which runs nowhere: what it is
  // sent stays in the stream for the test to count.
  InstanceAssignment in = IngressOf("in", {{"path", "orders"}, {"mode", "cast"}}, Id("fwd"));
  in.outputs["new_request"] = {Remote(Id("fwd"))};
  in.delivery = protocol::Delivery::kAtLeastOnce;
  ASSERT_TRUE(ApplyAndWaitRunning(**host, {in}));
  auto request = [&](const std::string& key) {
    std::promise<IngressReply> p;
    (*host)->Ingress(kWf, "orders", "POST", key, "order #42",
                     [&](IngressReply r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  };
  for (int i = 0; i < 3; ++i) {
    IngressReply r = request("order-42");
    EXPECT_EQ(r.status, 202) << r.body;
  }
  EXPECT_EQ(request("order-43").status, 202);
  const std::string stream = std::string("aether_wf_") + kWf;
  EXPECT_EQ(Look(stream).messages, 2u);
  auto sub = Subscribe(*log, kWf, "fwd");
  ASSERT_NE(sub, nullptr);
  EXPECT_EQ(Ids(FetchN(*sub, 2)),
            (std::vector<std::string>{internal::IngressEventId(kWf, "in", "order-42"),
                                      internal::IngressEventId(kWf, "in", "order-43")}));
  (*host)->Stop();
}

}  // namespace
}  // namespace aether::workflow::testing
