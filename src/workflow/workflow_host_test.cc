#include "workflow/workflow_host.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "common/testing/fake_clock.h"
#include "workflow/workflow_test_util.h"

namespace aether::workflow {
namespace {

using namespace testing;  // NOLINT
using std::chrono::milliseconds;

class WorkflowHostTest : public HostFixture {
 protected:
  // `clock`: the host's timers, backoffs and call deadlines (clock_ in the
  // tests that move time by hand).
  void Make(size_t mailbox = 1024, Clock& clock = Clock::Real()) {
    HostFixture::Make({.mailbox = mailbox, .clock = &clock});
  }
  // Casts "<prefix>0" .. "<prefix>n-1".
  void CastAll(const std::string& id, int n, const std::string& prefix = "e") {
    HostFixture::CastAll(id, n, [&](int i) { return prefix + std::to_string(i); });
  }

  aether::testing::FakeClock clock_;  // outlives host_ (HostFixture::TearDown)
};

TEST_F(WorkflowHostTest, ChainOfThreeDeliversInOrder) {
  Make();
  auto a = Fn("a", "wf_forward"), b = Fn("b", "wf_forward"), c = Fn("c", "wf_echo");
  a.outputs["out"] = {Local(b.id)};
  b.outputs["out"] = {Local(c.id)};
  c.outputs["out"] = {Remote("wf-test/sink/0")};
  ApplyAndWait({a, b, c});
  // A full mailbox inside the chain drops (the guest ignores AETHER_EFULL):
  // keep at most 256 events in flight so that none is dropped.
  for (int i = 0; i < 2000; ++i) {
    while (i - static_cast<int>(remote_.count()) >= 256) std::this_thread::yield();
    ASSERT_TRUE(host_->Cast(a.id, "test", "e" + std::to_string(i)).ok());
  }
  ASSERT_TRUE(remote_.WaitFor(2000))
      << remote_.count() << " arrived; a: " << StatusOf(*host_, a.id)->events
      << " b: " << StatusOf(*host_, b.id)->events << " c: " << StatusOf(*host_, c.id)->events << " "
      << StatusOf(*host_, c.id)->last_error;
  auto sent = remote_.sent();
  ASSERT_EQ(sent.size(), 2000u);
  for (int i = 0; i < 2000; ++i) {
    ASSERT_EQ(sent[i].payload, "e" + std::to_string(i));
    ASSERT_EQ(sent[i].source, "c");
    ASSERT_EQ(sent[i].instance, "wf-test/sink/0");
  }
  // b and c count an event once its handler has returned, just after the
  // cast that moved it on.
  EXPECT_TRUE(Eventually([&] { return StatusOf(*host_, b.id)->events == 2000; }))
      << StatusOf(*host_, b.id)->events;
  EXPECT_TRUE(Eventually([&] {
    return metrics_.Render().find("aether_workflow_events_total 6000") != std::string::npos;
  })) << metrics_.Render();
  EXPECT_EQ(StatusOf(*host_, c.id)->dropped, 0);
}

TEST_F(WorkflowHostTest, StatePersistsAcrossEvents) {
  Make();
  auto counter = Fn("count", "wf_counter_state");
  ApplyAndWait({counter});
  CastAll(counter.id, 5);
  auto r = CallSync(*host_, counter.id, "");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "6");
  auto s = StatusOf(*host_, counter.id);
  EXPECT_EQ(s->telemetry["events"], 6);
  EXPECT_NE(metrics_.Render().find("aether_workflow_telemetry{workflow=\"wf-test\",instance="
                                   "\"wf-test/count/0\",name=\"events\"} 6"),
            std::string::npos)
      << metrics_.Render();
}

TEST_F(WorkflowHostTest, CallsReplyThroughAChain) {
  Make();
  auto fwd = Fn("fwd", "wf_forward"), echo = Fn("echo", "wf_echo");
  fwd.outputs["out"] = {Local(echo.id)};
  ApplyAndWait({fwd, echo});
  auto r = CallSync(*host_, echo.id, "hello");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "hello");
  r = CallSync(*host_, fwd.id, std::string("bin\0ary", 7));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, std::string("bin\0ary", 7));
  // A call to an instance without the handler fails that event only.
  auto none = CallSync(*host_, "wf-test/nope/0", "x");
  EXPECT_EQ(none.status().code(), Code::kNotFound);
}

TEST_F(WorkflowHostTest, CallTimeoutIsAnErrorCodeInTheGuest) {
  Make();
  auto caller = Fn("caller", "wf_caller"), slow = Fn("slow", "wf_slow");
  caller.init_payload = "100";  // call timeout 100 ms
  caller.outputs["out"] = {Local(slow.id)};
  caller.outputs["result"] = {Remote("wf-test/sink/0")};
  ApplyAndWait({caller, slow});
  ASSERT_TRUE(host_->Cast(caller.id, "test", "1000").ok());
  ASSERT_TRUE(remote_.WaitFor(1));
  EXPECT_EQ(remote_.sent()[0].payload, "err:-3");
  // In that order: the guest had its error while wf_slow was still busy
  // (1 s), not once the late reply came.
  EXPECT_EQ(StatusOf(*host_, slow.id)->events, 0);
  // A call that is in time gets the reply (once wf_slow has finished the first).
  ASSERT_TRUE(Eventually([&] { return StatusOf(*host_, slow.id)->events == 1; }));
  auto r = CallSync(*host_, caller.id, "10");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "ok:done");
}

TEST_F(WorkflowHostTest, TrapRestartsWithBackoffAndIsReported) {
  Make(1024, clock_);
  auto t = Fn("t", "wf_trap");
  t.outputs["out"] = {Remote("wf-test/sink/0")};
  ApplyAndWait({t});
  ASSERT_TRUE(host_->Cast(t.id, "test", "before").ok());
  ASSERT_TRUE(remote_.WaitFor(1));
  ASSERT_TRUE(host_->Cast(t.id, "test", "trap").ok());
  ASSERT_TRUE(host_->Cast(t.id, "test", "after").ok());  // waits in the mailbox for the restart
  // The trap event is posted once the restart is scheduled.
  ASSERT_TRUE(Eventually([&] { return events_.Events().size() == 1; }));
  clock_.Advance(milliseconds(99));
  EXPECT_EQ(remote_.sent().size(), 1u) << "no restart before the 100 ms backoff";
  EXPECT_EQ(StatusOf(*host_, t.id)->state, "restarting");
  clock_.Advance(milliseconds(1));
  ASSERT_TRUE(remote_.WaitFor(2));
  EXPECT_EQ(remote_.sent()[1].payload, "after");
  auto s = StatusOf(*host_, t.id);
  EXPECT_EQ(s->restarts, 1);
  EXPECT_EQ(s->failures, 1);
  EXPECT_EQ(s->state, "running");
  auto events = events_.Events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_NE(events[0].find("\"event\":\"instance_trap\""), std::string::npos) << events[0];
  EXPECT_NE(events[0].find("\"trap\":\"unreachable\""), std::string::npos) << events[0];
  EXPECT_NE(events[0].find("\"instance\":\"wf-test/t/0\""), std::string::npos) << events[0];
  EXPECT_NE(events[0].find("\"node_id\":\"n1\""), std::string::npos) << events[0];
  EXPECT_NE(events[0].find("\"restarts\":1"), std::string::npos) << events[0];
  // Memory is fresh after a restart.
  auto counter = Fn("count", "wf_counter_state");
  ApplyAndWait({t, counter});
  CastAll(counter.id, 3);
  ASSERT_TRUE(host_->Cast(counter.id, "test", "trap").ok());
  ASSERT_TRUE(Eventually([&] { return events_.Events().size() == 2; }));
  clock_.Advance(milliseconds(100));
  auto r = CallSync(*host_, counter.id, "");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "1");
}

TEST_F(WorkflowHostTest, RestartBackoffDoublesAndResetsAfterAQuietSpell) {
  Make(1024, clock_);
  auto t = Fn("t", "wf_trap");
  ApplyAndWait({t});
  auto state = [&] { return StatusOf(*host_, t.id)->state; };
  // Traps, then checks the restart comes `backoff` later, not earlier.
  auto trap_and_restart = [&](size_t n, milliseconds backoff) {
    ASSERT_TRUE(host_->Cast(t.id, "test", "trap").ok());
    ASSERT_TRUE(Eventually([&] { return events_.Events().size() == n; }));
    clock_.Advance(backoff - milliseconds(1));
    EXPECT_EQ(state(), "restarting")
        << "trap " << n << ": restarted before " << backoff.count() << " ms";
    clock_.Advance(milliseconds(1));
    ASSERT_TRUE(Eventually([&] { return state() == "running"; })) << "trap " << n;
  };
  trap_and_restart(1, milliseconds(100));
  trap_and_restart(2, milliseconds(200));
  trap_and_restart(3, milliseconds(400));
  clock_.Advance(std::chrono::seconds(30));  // 30 s without a trap
  trap_and_restart(4, milliseconds(100));
  EXPECT_EQ(StatusOf(*host_, t.id)->restarts, 4);
}

TEST_F(WorkflowHostTest, DelayedCastLeavesAfterItsDelayInOrder) {
  Make(1024, clock_);
  auto d = Fn("d", "wf_delayed");
  d.outputs["out"] = {Remote("wf-test/sink/0")};
  ApplyAndWait({d});
  ASSERT_TRUE(host_->Cast(d.id, "test", "first").ok());
  // Handled (the host's timer holds the cast) before any time passes.
  ASSERT_TRUE(Eventually([&] { return StatusOf(*host_, d.id)->events == 1; }));
  clock_.Advance(milliseconds(100));
  auto r = CallSync(*host_, d.id, "second");  // due 100 ms after the first
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "rc:0");
  clock_.Advance(milliseconds(149));
  EXPECT_TRUE(remote_.sent().empty()) << "nothing before its delay";
  clock_.Advance(milliseconds(1));
  ASSERT_TRUE(remote_.WaitFor(1));
  EXPECT_EQ(remote_.sent()[0].payload, "first");
  clock_.Advance(milliseconds(99));
  EXPECT_EQ(remote_.sent().size(), 1u);
  clock_.Advance(milliseconds(1));
  ASSERT_TRUE(remote_.WaitFor(2));
  EXPECT_EQ(remote_.sent()[1].payload, "second");
}

TEST_F(WorkflowHostTest, EventTimeoutRestartsTheInstance) {
  Make();
  auto slow = Fn("slow", "wf_slow");
  slow.timeout_ms = 100;  // under the node's 2 s
  ApplyAndWait({slow});
  // The guest would spin for 10 s, past CallSync's 5 s: only the 100 ms
  // event timeout can answer Internal.
  auto r = CallSync(*host_, slow.id, "10000");
  EXPECT_EQ(r.status().code(), Code::kInternal) << r.status().ToString();
  ASSERT_TRUE(Eventually([&] { return Running(*host_, {slow.id}); }));
  auto s = StatusOf(*host_, slow.id);
  EXPECT_EQ(s->restarts, 1);
  auto events = events_.Events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_NE(events[0].find("\"trap\":\"timeout\""), std::string::npos) << events[0];
  r = CallSync(*host_, slow.id, "1");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "done");
}

TEST_F(WorkflowHostTest, AFullMailboxRefusesACastFromTheNetworkWithoutCountingADrop) {
  // host.Cast is the dataplane's delivery: a refusal there is deferred and
  // sent again by the sending node (dataplane_test.cc), so it is no drop.
  // Drops by a guest's cast: workflow_backpressure_test.cc.
  Make(/*mailbox=*/4);
  auto slow = Fn("slow", "wf_slow");
  ApplyAndWait({slow});
  int refused = 0;
  for (int i = 0; i < 20; ++i) {
    Status st = host_->Cast(slow.id, "test", "50");
    if (st.code() == Code::kResourceExhausted) ++refused;
  }
  EXPECT_GE(refused, 15);
  EXPECT_EQ(StatusOf(*host_, slow.id)->dropped, 0);
  EXPECT_NE(metrics_.Render().find("aether_dataplane_dropped_total 0"), std::string::npos)
      << metrics_.Render();
}

TEST_F(WorkflowHostTest, CastsAreBalancedRoundRobin) {
  Make();
  auto fwd = Fn("fwd", "wf_forward");
  auto c0 = Fn("count", "wf_counter_state", 0), c1 = Fn("count", "wf_counter_state", 1);
  fwd.outputs["out"] = {Local(c0.id), Local(c1.id)};
  ApplyAndWait({fwd, c0, c1});
  CastAll(fwd.id, 10);
  ASSERT_TRUE(Eventually(
      [&] { return StatusOf(*host_, c0.id)->events + StatusOf(*host_, c1.id)->events == 10; }));
  EXPECT_EQ(StatusOf(*host_, c0.id)->events, 5);
  EXPECT_EQ(StatusOf(*host_, c1.id)->events, 5);
}

TEST_F(WorkflowHostTest, ApplyRewiresStopsAndRestarts) {
  Make();
  auto fwd = Fn("fwd", "wf_forward"), counter = Fn("count", "wf_counter_state");
  fwd.outputs["out"] = {Remote("wf-test/x/0")};
  ApplyAndWait({fwd, counter});
  ASSERT_TRUE(host_->Cast(fwd.id, "test", "1").ok());
  ASSERT_TRUE(remote_.WaitFor(1));
  CastAll(counter.id, 3);

  // Rewire in place: no restart, the counter keeps its memory.
  fwd.outputs["out"] = {Remote("wf-test/y/0")};
  host_->Apply({fwd, counter});
  ASSERT_TRUE(host_->Cast(fwd.id, "test", "2").ok());
  ASSERT_TRUE(remote_.WaitFor(2));
  EXPECT_EQ(remote_.sent()[1].instance, "wf-test/y/0");
  auto r = CallSync(*host_, counter.id, "");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "4");

  // A changed init payload restarts the instance (fresh memory).
  counter.init_payload = "v2";
  host_->Apply({fwd, counter});
  r = CallSync(*host_, counter.id, "");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "1");

  // Absent from the list: stopped and gone.
  host_->Apply({counter});
  EXPECT_FALSE(StatusOf(*host_, fwd.id).has_value());
  EXPECT_EQ(host_->Cast(fwd.id, "test", "3").code(), Code::kNotFound);
  EXPECT_EQ(host_->Statuses().size(), 1u);
}

TEST_F(WorkflowHostTest, BadPointerTrapsTheInstance) {
  Make();
  auto bad = Fn("bad", "wf_bad_ptr");
  bad.outputs["out"] = {Remote("wf-test/sink/0")};
  ApplyAndWait({bad});
  // wf_bad_ptr traps on every event through the host function.
  ASSERT_TRUE(host_->Cast(bad.id, "test", "output").ok());
  ASSERT_TRUE(Eventually([&] { return StatusOf(*host_, bad.id)->restarts == 1; }));
  // The trap event is posted after the restart is counted.
  ASSERT_TRUE(Eventually([&] { return !events_.Events().empty(); }));
  auto events = events_.Events();
  EXPECT_NE(events[0].find("\"trap\":\"host_error\""), std::string::npos) << events[0];
  ASSERT_TRUE(Eventually([&] { return Running(*host_, {bad.id}); }));
  auto r = CallSync(*host_, bad.id, "payload");
  EXPECT_EQ(r.status().code(), Code::kInternal) << r.status().ToString();
  EXPECT_EQ(StatusOf(*host_, bad.id)->restarts, 2);
}

TEST_F(WorkflowHostTest, ModuleNotYetThereStaysStarting) {
  Make();
  auto ghost = Fn("ghost", "wf_does_not_exist");
  host_->Apply({ghost});
  ASSERT_TRUE(Eventually([&] {
    auto s = StatusOf(*host_, ghost.id);
    return s && s->state == "starting" && !s->last_error.empty();
  }));
  EXPECT_TRUE(host_->Cast(ghost.id, "test", "queued").ok());  // waits for the module
}

TEST(WorkflowHostFunctionsTest, RequestAbiUseTraps) {
  // During /execute there is no instance: ExecContext::extension is null.
  auto fns = WorkflowHost::HostFunctions();
  std::map<std::string, const wasm::HostFunction*> by_name;
  for (const auto& f : fns) by_name[f.module + "." + f.name] = &f;
  ASSERT_EQ(fns.size(), by_name.size()) << "one function per name";
  std::map<std::string, std::string> sigs;
  for (const auto& [name, f] : by_name) sigs[name] = f->signature;
  std::map<std::string, std::string> expected = {
      {"aether.cast", "i:iiii"},
      {"aether.call", "i:iiiii"},
      {"aether.call_reply", "i:ii"},
      {"aether.delayed_cast", "i:iiiii"},
      {"aether.log", "v:iii"},
      {"aether.telemetry", "v:iiF"},
      // EDGELESS's guest ABI (edgeless_function's imports.rs; usize is i32).
      {"env.cast_asm", "v:iiii"},
      {"env.cast_raw_asm", "v:iiii"},
      {"env.call_asm", "i:iiiiii"},
      {"env.call_raw_asm", "i:iiiiii"},
      {"env.delayed_cast_asm", "v:Iiiii"},
      {"env.telemetry_log_asm", "v:iiiii"},
      {"env.slf_asm", "v:ii"},
      {"env.sync_asm", "v:ii"}};
  EXPECT_EQ(sigs, expected);
  wasm::ExecContext ctx;
  auto cast = reinterpret_cast<uint32_t (*)(void*, uint32_t, uint32_t, uint32_t, uint32_t)>(
      by_name.at("aether.cast")->fn);
  cast(&ctx, 0, 0, 0, 0);
  EXPECT_EQ(ctx.hdr.unwind, static_cast<uint32_t>(AETHER_UNWIND_TRAP));
  wasm::ExecContext ectx;
  auto cast_asm = reinterpret_cast<void (*)(void*, uint32_t, uint32_t, uint32_t, uint32_t)>(
      by_name.at("env.cast_asm")->fn);
  cast_asm(&ectx, 0, 0, 0, 0);
  EXPECT_EQ(ectx.hdr.unwind, static_cast<uint32_t>(AETHER_UNWIND_TRAP));
}

}  // namespace
}  // namespace aether::workflow
