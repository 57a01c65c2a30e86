// Functions that speak EDGELESS's guest ABI, run by the workflow host: the
// C guest wf_edgeless (every host call, and the hostile cases) and the wasm
// functions EDGELESS itself commits, built by its toolchain
// (tests/edgeless/).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <tuple>
#include <vector>

#include "common/sha256.h"
#include "workflow/internal/edgeless_ids.h"
#include "workflow/internal/instance_state.h"
#include "workflow/workflow_host.h"
#include "workflow/workflow_test_util.h"

namespace aether::workflow {
namespace {

using namespace testing;  // NOLINT
using internal::ComponentUuid;
using internal::NodeUuid;

constexpr const char* kSink = "wf-test/sink/0";

class EdgelessTest : public HostFixture {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "edgeless-XXXXXX").string();
    data_dir_ = ::mkdtemp(tmpl.data());
    MakeHost();
  }
  void TearDown() override {
    HostFixture::TearDown();
    std::filesystem::remove_all(data_dir_);
  }
  void MakeHost() {
    WorkflowHostOptions o = HostOptions(&remote_, &events_, &metrics_, HostSettings{});
    o.data_dir = data_dir_;
    auto h = WorkflowHost::Create(std::move(o));
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    host_ = std::move(*h);
  }

  // Payloads that reached the sink (the "log" outputs).
  std::vector<std::string> Logged() {
    std::vector<std::string> out;
    for (const FakeRemote::Sent& s : remote_.sent()) out.push_back(s.payload);
    return out;
  }
  bool Saw(const std::string& payload) {
    return Eventually([&] {
      for (const std::string& p : Logged()) {
        if (p == payload) return true;
      }
      return false;
    });
  }
  // A function `component` of `guest` whose "log" output leads to the sink.
  static InstanceAssignment Logging(const std::string& component, const std::string& guest) {
    InstanceAssignment a = Fn(component, guest);
    a.outputs["log"] = {Remote(kSink)};
    a.output_components["log"] = "sink";
    return a;
  }
  // e -> p over "next", with p's route back to e as the control plane adds it.
  std::pair<InstanceAssignment, InstanceAssignment> Pair() {
    InstanceAssignment e = Logging("e", "wf_edgeless"), p = Logging("p", "wf_edgeless");
    e.init_payload = "hello";
    e.outputs["next"] = {Local(p.id)};
    e.output_components["next"] = "p";
    p.outputs["@e"] = {Local(e.id)};
    p.output_components["@e"] = "e";
    return {e, p};
  }

  std::string data_dir_;
};

std::string Hex(const internal::EdgelessUuid& id) { return HexLower(id); }

TEST_F(EdgelessTest, InitGetsThePayloadAndCastsReachOutputsAndSelf) {
  InstanceAssignment e, p;
  std::tie(e, p) = Pair();
  ApplyAndWait({e, p});
  EXPECT_TRUE(Saw("init:hello|state:-"));
  EXPECT_TRUE(Saw("init:-|state:-"));

  ASSERT_TRUE(host_->Cast(e.id, "test", "cast:next:hi").ok());
  EXPECT_TRUE(Saw("got:hi"));  // p got it over e's output
  ASSERT_TRUE(host_->Cast(e.id, "test", "self:again").ok());
  EXPECT_TRUE(Saw("got:again"));
  ASSERT_TRUE(host_->Cast(e.id, "test", "slfraw:me").ok());
  EXPECT_TRUE(Saw("got:me"));
  // A cast to an output that is not mapped is ignored, as in EDGELESS.
  ASSERT_TRUE(host_->Cast(e.id, "test", "cast:nowhere:x").ok());
  ASSERT_TRUE(host_->Cast(e.id, "test", "cast:next:after").ok());
  EXPECT_TRUE(Saw("got:after"));
  EXPECT_EQ(StatusOf(*host_, e.id)->failures, 0);
}

TEST_F(EdgelessTest, InstanceIdsAreTheNamesOfNodeAndComponent) {
  InstanceAssignment e, p;
  std::tie(e, p) = Pair();
  ApplyAndWait({e, p});
  ASSERT_TRUE(host_->Cast(e.id, "test", "slf").ok());
  EXPECT_TRUE(Saw("slf:" + Hex(NodeUuid(kNode)) + ":" + Hex(ComponentUuid(kWf, "e"))));
  // The sender: its component's id; its node is not carried (nil).
  ASSERT_TRUE(host_->Cast(e.id, "ingress", "src").ok());
  EXPECT_TRUE(Saw("src:" + std::string(32, '0') + ":" + Hex(ComponentUuid(kWf, "ingress"))));
  EXPECT_NE(Hex(ComponentUuid(kWf, "e")), Hex(ComponentUuid("wf-other", "e")));
  EXPECT_EQ(internal::FormatUuid(ComponentUuid(kWf, "e")).size(), 36u);
}

TEST_F(EdgelessTest, RawCastsAndCallsAnswerTheSender) {
  InstanceAssignment e, p;
  std::tie(e, p) = Pair();
  ApplyAndWait({e, p});
  // p answers e (the event's source) over the route the control plane adds.
  ASSERT_TRUE(host_->Cast(p.id, "e", "raw:back").ok());
  EXPECT_TRUE(Saw("got:back"));
  ASSERT_TRUE(host_->Cast(p.id, "e", "callraw:echo:r").ok());
  EXPECT_TRUE(Saw("call:1:r"));
  // A sender with no route back: logged and ignored, no failure.
  ASSERT_TRUE(host_->Cast(p.id, "stranger", "raw:lost").ok());
  ASSERT_TRUE(host_->Cast(p.id, "stranger", "callraw:echo:x").ok());
  EXPECT_TRUE(Saw("call:2:"));
  EXPECT_EQ(StatusOf(*host_, p.id)->failures, 0);
}

// With several instances of a component, an instance id names one of
// them: the sender of an event is that instance on its node, and cast_raw
// to it reaches that instance, not any of its component's.
TEST_F(EdgelessTest, RawCastsReachTheExactInstanceThatSent) {
  InstanceAssignment p = Logging("p", "wf_edgeless");
  std::vector<InstanceAssignment> all;
  for (int i = 0; i < 3; ++i) {
    InstanceAssignment s = Logging("s", "wf_edgeless");
    s.id = Id("s", i);
    s.outputs["next"] = {Local(p.id)};
    s.output_components["next"] = "p";
    p.outputs["@s"].push_back(Local(s.id));
    all.push_back(s);
  }
  p.outputs["@s"].push_back(Remote(Id("s", 3)));  // one more on another node
  p.output_components["@s"] = "s";
  all.push_back(p);
  ApplyAndWait(all);
  std::string node = Hex(NodeUuid(kNode));
  std::string s2 = Hex(internal::InstanceUuid(kWf, "s", 2));
  EXPECT_NE(s2, Hex(ComponentUuid(kWf, "s")));
  EXPECT_EQ(Hex(internal::InstanceUuid(kWf, "s", 0)), Hex(ComponentUuid(kWf, "s")));

  // p sees which instance sent, and where it runs.
  ASSERT_TRUE(host_->Cast(Id("s", 2), "test", "cast:next:src").ok());
  EXPECT_TRUE(Saw("src:" + node + ":" + s2));
  ASSERT_TRUE(host_->Cast(p.id, "s/3", "src").ok());
  EXPECT_TRUE(Saw("src:" + Hex(NodeUuid("n2")) + ":" + Hex(internal::InstanceUuid(kWf, "s", 3))));
  // s/2 asks p to answer it; p's cast_raw reaches s/2 every time (a round
  // robin over the three would not), which reports its own id.
  const std::string from_s2 = "slf:" + node + ":" + s2;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(host_->Cast(Id("s", 2), "test", "cast:next:raw:slf").ok());
  }
  EXPECT_TRUE(Eventually([&] {
    int seen = 0;
    for (const std::string& l : Logged()) seen += l == from_s2 ? 1 : 0;
    return seen == 3;
  }));
  for (const std::string& l : Logged()) {
    EXPECT_TRUE(!l.starts_with("slf:") || l == from_s2) << l;
  }
  // The instance on another node: the cast goes to it over the link.
  ASSERT_TRUE(host_->Cast(p.id, "s/3", "raw:over").ok());
  EXPECT_TRUE(Eventually([&] {
    for (const FakeRemote::Sent& sent : remote_.sent()) {
      if (sent.instance == Id("s", 3) && sent.payload == "over") return true;
    }
    return false;
  }));
  EXPECT_EQ(StatusOf(*host_, p.id)->failures, 0);
}

TEST_F(EdgelessTest, CallsGetReplyNoReplyOrError) {
  InstanceAssignment e, p;
  std::tie(e, p) = Pair();
  ApplyAndWait({e, p});
  ASSERT_TRUE(host_->Cast(e.id, "test", "call:next:echo:zz").ok());
  EXPECT_TRUE(Saw("call:1:zz"));
  ASSERT_TRUE(host_->Cast(e.id, "test", "call:next:none").ok());
  EXPECT_TRUE(Saw("call:0:"));
  // An empty Reply is a reply, not NoReply.
  ASSERT_TRUE(host_->Cast(e.id, "test", "call:next:echo:").ok());
  EXPECT_TRUE(Saw("call:1:"));
  ASSERT_TRUE(host_->Cast(e.id, "test", "call:next:err").ok());
  ASSERT_TRUE(host_->Cast(e.id, "test", "call:nowhere:x").ok());
  ASSERT_TRUE(host_->Cast(e.id, "test", "call:self:x").ok());
  EXPECT_TRUE(Eventually([&] {
    int errors = 0;
    for (const std::string& s : Logged()) errors += s == "call:2:" ? 1 : 0;
    return errors == 3;
  }));
  // A call from outside: the reply, and CallRet::Err as an error.
  Result<std::string> r = CallSync(*host_, p.id, "echo:outside");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "outside");
  Result<CallReply> none = CallSyncReply(*host_, p.id, "none");
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_TRUE(none->none);
  Result<CallReply> empty = CallSyncReply(*host_, p.id, "echo:");
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_FALSE(empty->none);
  EXPECT_EQ(empty->bytes, "");
  Result<std::string> err = CallSync(*host_, p.id, "err");
  EXPECT_FALSE(err.ok());
  EXPECT_NE(err.status().message().find("CallRet::Err"), std::string::npos);
  // A call that calls on, replying with the reply.
  Result<std::string> chained = CallSync(*host_, e.id, "call:next:echo:deep");
  ASSERT_TRUE(chained.ok()) << chained.status().ToString();
  EXPECT_EQ(*chained, "deep");
}

TEST_F(EdgelessTest, DelayedCastsReachSelfAndOutputs) {
  InstanceAssignment e, p;
  std::tie(e, p) = Pair();
  ApplyAndWait({e, p});
  ASSERT_TRUE(host_->Cast(e.id, "test", "delay:50:self:later").ok());
  ASSERT_TRUE(host_->Cast(e.id, "test", "delay:50:next:onward").ok());
  ASSERT_TRUE(host_->Cast(e.id, "test", "log:3:a line from the guest").ok());
  EXPECT_TRUE(Saw("got:later"));
  EXPECT_TRUE(Saw("got:onward"));
}

TEST_F(EdgelessTest, SyncedStateComesBackAfterARestartAndAnEngineRestart) {
  InstanceAssignment e, p;
  std::tie(e, p) = Pair();
  ApplyAndWait({e, p});
  ASSERT_TRUE(host_->Cast(e.id, "test", "sync:S1").ok());
  ASSERT_TRUE(host_->Cast(e.id, "test", "sync:S2").ok());
  ASSERT_TRUE(host_->Cast(e.id, "test", "trap").ok());  // restarts with the state
  EXPECT_TRUE(Saw("init:hello|state:S2"));
  EXPECT_TRUE(Eventually([&] { return StatusOf(*host_, e.id)->restarts == 1; }));

  // The engine goes away and comes back with the same data dir.
  host_->Stop();
  host_.reset();
  MakeHost();
  ApplyAndWait({e, p});
  EXPECT_TRUE(Eventually([&] {
    int n = 0;
    for (const std::string& s : Logged()) n += s == "init:hello|state:S2" ? 1 : 0;
    return n == 2;
  }));
  // p never synced: nothing of e's.
  EXPECT_TRUE(Saw("init:-|state:-"));
}

TEST_F(EdgelessTest, GuestsThatMisuseTheAbiTrapAlone) {
  InstanceAssignment e, p;
  std::tie(e, p) = Pair();
  e.timeout_ms = 300;  // the spinning allocator below
  ApplyAndWait({e, p});
  ASSERT_TRUE(host_->Cast(e.id, "test", "badptr").ok());
  EXPECT_TRUE(Eventually([&] { return StatusOf(*host_, e.id)->restarts == 1; }));
  // A reply the caller's allocator cannot take: edgeless_mem_alloc traps
  // inside the caller's call_asm; the caller restarts, the callee is fine.
  ASSERT_TRUE(ApplyAndWaitRunning(*host_, {e, p}));
  ASSERT_TRUE(host_->Cast(e.id, "test", "call:next:big7").ok());
  EXPECT_TRUE(Eventually([&] { return StatusOf(*host_, e.id)->restarts == 2; }));
  EXPECT_NE(StatusOf(*host_, e.id)->last_error.find("edgeless_mem_alloc"), std::string::npos)
      << StatusOf(*host_, e.id)->last_error;
  // An allocator that never returns: stopped at the event's deadline.
  ASSERT_TRUE(ApplyAndWaitRunning(*host_, {e, p}));
  ASSERT_TRUE(host_->Cast(e.id, "test", "call:next:big8").ok());
  EXPECT_TRUE(Eventually([&] { return StatusOf(*host_, e.id)->restarts == 3; }));
  EXPECT_NE(StatusOf(*host_, e.id)->last_error.find("timeout"), std::string::npos)
      << StatusOf(*host_, e.id)->last_error;
  // An allocator that makes a host call of its own: refused (a trap).
  ASSERT_TRUE(ApplyAndWaitRunning(*host_, {e, p}));
  ASSERT_TRUE(host_->Cast(e.id, "test", "call:next:big9").ok());
  EXPECT_TRUE(Eventually([&] { return StatusOf(*host_, e.id)->restarts == 4; }));
  EXPECT_EQ(StatusOf(*host_, p.id)->restarts, 0);
  ASSERT_TRUE(ApplyAndWaitRunning(*host_, {e, p}));
  ASSERT_TRUE(host_->Cast(e.id, "test", "cast:next:still").ok());
  EXPECT_TRUE(Saw("got:still"));
  for (const std::string& s : Logged()) EXPECT_NE(s, "reentered");
}

// /execute runs WASI commands; a workflow function there is refused saying
// what it is.
TEST(EdgelessExecuteTest, AWorkflowFunctionRunAsACommandSaysWhatItIs) {
  wasm::testing::OnGuestThread([] {
    for (auto [guest, says] : {std::pair{"wf_edgeless", "EDGELESS's SDK"},
                               {"edgeless_messaging_test", "EDGELESS's SDK"},
                               {"wf_echo", "a workflow function"}}) {
      Result<std::shared_ptr<const wasm::Module>> m = Guests::Get().Module(guest);
      ASSERT_TRUE(m.ok()) << m.status().ToString();
      Result<wasm::RunResult> r = Guests::Get().engine().Run(**m, {});
      ASSERT_FALSE(r.ok()) << guest;
      EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
      EXPECT_NE(r.status().message().find(says), std::string::npos) << r.status().message();
    }
  });
}

// ---- EDGELESS's own functions, as its toolchain built them -----------------

TEST_F(EdgelessTest, EdgelessMessagingTestFunctionRuns) {
  InstanceAssignment m = Fn("m", "edgeless_messaging_test");
  m.outputs["test"] = {Remote(kSink)};
  m.output_components["test"] = "sink";
  InstanceAssignment src = Logging("src", "wf_edgeless");
  m.outputs["@src"] = {Local(src.id)};
  m.output_components["@src"] = "src";
  remote_.on_call = [](const OutputTarget&, std::string_view payload) -> Result<CallReply> {
    return CallReply{std::string("answer to ") + std::string(payload)};
  };
  ApplyAndWait({m, src});

  ASSERT_TRUE(host_->Cast(m.id, "test", "test_cast_output").ok());
  EXPECT_TRUE(Saw("cast_output"));
  ASSERT_TRUE(host_->Cast(m.id, "test", "test_delayed_cast_output").ok());
  EXPECT_TRUE(Saw("delayed_cast_output"));
  // Raw: back to the sender, whose wf_edgeless logs what it got.
  ASSERT_TRUE(host_->Cast(m.id, "src", "test_cast_raw_output").ok());
  EXPECT_TRUE(Saw("got:cast_raw_output"));
  ASSERT_TRUE(host_->Cast(m.id, "src", "test_call_raw_output").ok());
  ASSERT_TRUE(host_->Cast(m.id, "test", "test_call_output").ok());
  Result<std::string> r = CallSync(*host_, m.id, "test_ret");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "test_reply");
  EXPECT_FALSE(CallSync(*host_, m.id, "test_err").ok());
  Result<std::string> none = CallSync(*host_, m.id, "anything");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, "");
  EXPECT_EQ(StatusOf(*host_, m.id)->restarts, 0);
}

TEST_F(EdgelessTest, EdgelessSystemTestFunctionRunsFromItsInitPayload) {
  InstanceAssignment s = Fn("s", "edgeless_system_test");
  s.init_payload = "8";  // handle_init casts it to "self" after 1 s
  for (const char* out : {"out1", "out2", "log", "err"}) {
    s.outputs[out] = {Remote(kSink)};
    s.output_components[out] = "sink";
  }
  ApplyAndWait({s});
  EXPECT_TRUE(Saw("4"));  // 8 / 2 on out1
  EXPECT_TRUE(Saw("7"));  // 8 - 1 on out2
  EXPECT_TRUE(Saw("8"));  // the message itself on log
  ASSERT_TRUE(host_->Cast(s.id, "test", "x").ok());
  EXPECT_TRUE(Eventually([&] {
    for (const std::string& p : Logged()) {
      if (p.rfind("parsing error: ", 0) == 0) return true;
    }
    return false;
  }));
}

TEST_F(EdgelessTest, EdgelessStateTestFunctionSyncsItsState) {
  InstanceAssignment st = Fn("st", "edgeless_state_test");
  ApplyAndWait({st});
  ASSERT_TRUE(host_->Cast(st.id, "test", "test_cast_raw_output").ok());
  WorkflowHostOptions o;
  o.data_dir = data_dir_;
  Result<std::unique_ptr<internal::InstanceState>> state = internal::OpenInstanceState(o, st);
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  EXPECT_TRUE(Eventually([&] {
    Result<std::optional<std::string>> saved = (*state)->Load();
    return saved.ok() && saved->has_value() && **saved == "new_state";
  }));
  EXPECT_EQ(StatusOf(*host_, st.id)->failures, 0);
}

}  // namespace
}  // namespace aether::workflow
