// A local chain of three functions under a producer that keeps the chain
// full: every event comes out of the end, in order. The chain's event rate
// and latency are measured by bench/workflow_throughput.cc
// (aether-bench-workflow), not here: timing belongs to benchmarks.
#include <gtest/gtest.h>

#include <string>

#include "workflow/workflow_host.h"
#include "workflow/workflow_test_util.h"

namespace aether::workflow {
namespace {

using namespace testing;  // NOLINT

TEST(WorkflowChainTest, ALocalChainOfThreeDeliversEveryEventInOrder) {
  FakeRemote remote;
  WorkflowHostOptions o = TestOptions(&remote, nullptr);
  o.threads = 2;
  auto h = WorkflowHost::Create(std::move(o));
  ASSERT_TRUE(h.ok());
  std::unique_ptr<WorkflowHost> host = std::move(*h);
  auto a = Fn("a", "wf_forward"), b = Fn("b", "wf_forward"), c = Fn("c", "wf_echo");
  a.outputs["out"] = {Local(b.id)};
  b.outputs["out"] = {Local(c.id)};
  c.outputs["out"] = {Remote("wf-test/sink/0")};
  host->Apply({a, b, c});
  ASSERT_TRUE(Eventually([&] { return Running(*host, {a.id, b.id, c.id}); }));

  // One producer keeping up to 512 events in flight (more would overflow
  // the 1024-event mailboxes inside the chain, which drops), retrying while
  // the first mailbox is full.
  constexpr int kEvents = 5000;
  for (int i = 0; i < kEvents; ++i) {
    while (i - static_cast<int>(remote.count()) >= 512) std::this_thread::yield();
    Status st;
    while ((st = host->Cast(a.id, "test", std::to_string(i))).code() == Code::kResourceExhausted) {
      std::this_thread::yield();
    }
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  ASSERT_TRUE(remote.WaitFor(kEvents, std::chrono::seconds(60)));
  auto sent = remote.sent();
  ASSERT_EQ(sent.size(), static_cast<size_t>(kEvents));
  for (int i = 0; i < kEvents; ++i) {
    ASSERT_EQ(sent[i].payload, std::to_string(i));
    EXPECT_EQ(sent[i].source, "c");
  }
  // An instance counts an event once its handler has returned, just after
  // the cast that moved it on: the last count may lag the last delivery.
  for (const std::string& id : {a.id, b.id, c.id}) {
    EXPECT_TRUE(Eventually([&] { return StatusOf(*host, id)->events == kEvents; }))
        << id << ": " << StatusOf(*host, id)->events;
    EXPECT_EQ(StatusOf(*host, id)->dropped, 0) << id;
  }
  host->Stop();
}

}  // namespace
}  // namespace aether::workflow
