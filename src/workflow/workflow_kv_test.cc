// A kv with storage = "durable" hosted by WorkflowHost: an engine without
// [nats] fails the instance and says why; with a real nats-server, the
// data written through one host (node) is there for the instance that
// another host starts after the first one stopped (a move).
#include <gtest/gtest.h>

#include "workflow/jetstream_kv.h"
#include "workflow/jetstream_test_util.h"
#include "workflow/workflow_host.h"
#include "workflow/workflow_test_util.h"

namespace aether::workflow {
namespace {

using namespace testing;  // NOLINT

InstanceAssignment DurableKv() {
  InstanceAssignment a;
  a.id = Id("store");
  a.workflow = kWf;
  a.component = "store";
  a.kind = InstanceAssignment::Kind::kResource;
  a.class_type = "kv";
  a.configurations = {{"storage", "durable"}};
  return a;
}

std::unique_ptr<WorkflowHost> Host(RemoteLink* remote, Recorder* events,
                                   std::shared_ptr<KvBuckets> buckets) {
  WorkflowHostOptions o = TestOptions(remote, events);
  o.kv_buckets = std::move(buckets);
  auto h = WorkflowHost::Create(std::move(o));
  EXPECT_TRUE(h.ok()) << h.status().ToString();
  return h.ok() ? std::move(*h) : nullptr;
}

TEST(WorkflowKvTest, WithoutNatsTheInstanceFailsAndSaysWhy) {
  FakeRemote remote;
  Recorder events;
  auto host = Host(&remote, &events, nullptr);
  ASSERT_NE(host, nullptr);
  InstanceAssignment kv = DurableKv();
  host->Apply({kv});
  ASSERT_TRUE(Eventually([&] {
    auto s = StatusOf(*host, kv.id);
    return s && s->state == "failed";
  }));
  EXPECT_NE(StatusOf(*host, kv.id)->last_error.find("[nats] urls"), std::string::npos)
      << StatusOf(*host, kv.id)->last_error;
  host->Stop();
}

class WorkflowKvMoveTest : public JetStreamTest {
 protected:
  FakeRemote remote_;
  Recorder events_;
};

TEST_F(WorkflowKvMoveTest, TheNextHostFindsTheData) {
  InstanceAssignment kv = DurableKv();
  {
    auto first = Host(&remote_, &events_, KvBuckets::Create(Options()));
    ASSERT_NE(first, nullptr);
    ASSERT_TRUE(ApplyAndWaitRunning(*first, {kv}));
    ASSERT_TRUE(first->Cast(kv.id, "test", "SET greeting hello").ok());
    ASSERT_TRUE(first->Cast(kv.id, "test", "INCR n 41").ok());
    Result<std::string> r = CallSync(*first, kv.id, "INCR n");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(*r, "42");
    first->Stop();
  }
  auto second = Host(&remote_, &events_, KvBuckets::Create(Options()));
  ASSERT_NE(second, nullptr);
  ASSERT_TRUE(ApplyAndWaitRunning(*second, {kv}));
  Result<std::string> r = CallSync(*second, kv.id, "GET greeting");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "hello");
  r = CallSync(*second, kv.id, "INCR n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "43");
  second->Stop();
}

}  // namespace
}  // namespace aether::workflow
