#include "control/workflows/orchestrator.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>

#include "common/testing/fake_clock.h"
#include "control/workflows/workflow_watch.h"

namespace aether::control {
namespace {

namespace json = boost::json;
using std::chrono::seconds;

const std::string kModule("\0asm\1\0\0\0", 8);

class OrchestratorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (std::filesystem::temp_directory_path() /
            ("aether-orch-test-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    std::filesystem::remove_all(dir_);
    store_ = OpenSqliteStore(dir_ + "/aether.db").value();
    Open();
  }
  void TearDown() override {
    Close();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  // Everything above the store, as a (re)started control plane has it.
  void Open() {
    artifacts_ = ArtifactStore::Open(dir_ + "/artifacts").value();
    events_ = EventLog::Open(*store_).value();
    functions_ = std::make_unique<FunctionRegistry>(*store_, *artifacts_, *events_);
    NodeRegistryOptions o;
    o.node_timeout = seconds(10);
    o.clock = &clock_;
    nodes_ = NodeRegistry::Open(*store_, *events_, o).value();
    metrics_ = std::make_unique<MetricsRegistry>();
    orch_ = std::make_unique<Orchestrator>(*store_, *functions_, *nodes_, *events_, *metrics_);
  }
  void Close() {
    orch_.reset();
    nodes_.reset();
    functions_.reset();
    events_.reset();
    artifacts_.reset();
  }
  std::string Deploy(const std::string& name, const std::string& bytes = kModule) {
    return functions_->Deploy({name, bytes, {}, {}}, "test").value().sha256;
  }
  void Register(const std::string& id, std::map<std::string, std::string> labels = {}) {
    ASSERT_TRUE(nodes_->Admit({id, "http://" + id + ":9091", std::move(labels), {}}).ok());
  }
  WorkflowView Show(const std::string& id) { return orch_->Show(id).value(); }
  // instance -> node id
  std::map<std::string, std::string> Placement(const std::string& id) {
    std::map<std::string, std::string> out;
    WorkflowView w = Show(id);  // named: a temporary would dangle in the for
    for (const InstanceView& i : w.instances) out[i.id] = i.node_id;
    return out;
  }
  std::vector<Event> EventsOf(const std::string& type) {
    return events_->List(0, type, 1000).value().events;
  }
  static json::object DataOf(const Event& e) { return json::parse(e.data).as_object(); }

  std::string dir_;
  aether::testing::FakeClock clock_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<ArtifactStore> artifacts_;
  std::unique_ptr<EventLog> events_;
  std::unique_ptr<FunctionRegistry> functions_;
  std::unique_ptr<NodeRegistry> nodes_;
  std::unique_ptr<MetricsRegistry> metrics_;
  std::unique_ptr<Orchestrator> orch_;
};

TEST_F(OrchestratorTest, PendingUntilASuitableNodeRegisters) {
  Deploy("parse");
  Register("a", {{"zone", "us"}});
  WorkflowView applied = orch_
                             ->Apply(R"({"name": "eu", "functions": [{"name": "parse",
      "function": "parse", "annotations": {"label_match_all": ["zone=eu"]}}]})",
                                     "test")
                             .value();
  EXPECT_EQ(applied.id, "eu");
  EXPECT_EQ(applied.state, "pending");
  EXPECT_EQ(applied.reason, "functions \"parse\": no live node has label zone=eu");
  ASSERT_EQ(EventsOf("workflow_pending").size(), 1u);
  ASSERT_TRUE(orch_->Reconcile().ok());
  EXPECT_EQ(EventsOf("workflow_pending").size(), 1u) << "once per change";
  EXPECT_EQ(Show("eu").instances[0].state, "unplaced");

  Register("b", {{"zone", "eu"}});
  ASSERT_TRUE(orch_->Reconcile().ok());
  EXPECT_EQ(Placement("eu")["eu/parse/0"], "b");
  WorkflowView w = Show("eu");
  EXPECT_EQ(w.state, "pending");
  EXPECT_EQ(w.reason, "waiting for 1 instance(s) to start");
  EXPECT_EQ(w.instances[0].state, "placed");
  EXPECT_EQ(w.instances[0].node_url, "http://b:9091");
}

TEST_F(OrchestratorTest, HealsWhenANodeGoesDown) {
  Deploy("f");
  Register("a");
  Register("b");
  Register("c");
  std::string id = orch_
                       ->Apply(R"({"functions": [{"name": "f", "function": "f",
      "annotations": {"max_instances": 2}}]})",
                               "test")
                       .value()
                       .id;
  EXPECT_TRUE(id.starts_with("wf-") && id.size() == 11) << id;
  std::map<std::string, std::string> before = Placement(id);
  ASSERT_EQ(before.size(), 2u);
  EXPECT_NE(before[id + "/f/0"], before[id + "/f/1"]) << "spread over distinct nodes";

  // The node of instance 0 misses its heartbeats; the others beat.
  std::string lost = before[id + "/f/0"];
  clock_.Advance(seconds(11));
  for (std::string n : {"a", "b", "c"}) {
    if (n != lost) {
      ASSERT_TRUE(nodes_->Beat({n, {}, {}, 0}).ok());
    }
  }
  nodes_->Sweep();
  ASSERT_TRUE(orch_->Reconcile().ok());
  std::map<std::string, std::string> after = Placement(id);
  EXPECT_NE(after[id + "/f/0"], lost);
  EXPECT_NE(after[id + "/f/0"], "");
  EXPECT_NE(after[id + "/f/0"], after[id + "/f/1"]);
  EXPECT_EQ(after[id + "/f/1"], before[id + "/f/1"]) << "the other instance stays";

  std::vector<Event> node_lost = EventsOf("node_lost");
  ASSERT_EQ(node_lost.size(), 1u);
  EXPECT_EQ(DataOf(node_lost[0]).at("node_id"), json::value(lost));
  EXPECT_EQ(DataOf(node_lost[0]).at("instances").as_array().size(), 1u);
  std::vector<Event> moved = EventsOf("instance_moved");
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(DataOf(moved[0]).at("from"), json::value(lost));
  EXPECT_EQ(DataOf(moved[0]).at("to"), json::value(after[id + "/f/0"]));

  // Nothing changes on a quiet pass.
  ASSERT_TRUE(orch_->Reconcile().ok());
  EXPECT_EQ(EventsOf("instance_moved").size(), 1u);
}

TEST_F(OrchestratorTest, StatusReportsDecideTheState) {
  Deploy("f");
  Register("a");
  ASSERT_TRUE(orch_
                  ->Apply(R"({"name": "w", "functions": [{"name": "f", "function": "f"}],
      "resources": [{"name": "in", "class_type": "http-ingress", "output_mapping": {"out": "f"},
                     "configurations": {"path": "orders"}}]})",
                          "test")
                  .ok());
  WorkflowView w = Show("w");
  ASSERT_EQ(w.ingress.size(), 1u);
  EXPECT_EQ(w.ingress[0].url, "http://a:9091/wf/w/orders");

  InstanceReport f{"w/f/0", "running", 12, 0, 0, 0, "", {{"latency_ms", 0.5}}};
  InstanceReport in{"w/in/0", "running", 12, 0, 0, 0, "", {}};
  InstanceReport stale{"gone/x/0", "running", 1, 0, 0, 0, "", {}};
  ASSERT_TRUE(orch_->Report("a", {f, in, stale}).ok());
  w = Show("w");
  EXPECT_EQ(w.state, "running");
  const InstanceView& inst = w.instances[0];
  EXPECT_EQ(inst.report.events, 12);
  EXPECT_EQ(inst.report.telemetry.at("latency_ms"), 0.5);

  f.state = "failed";
  f.last_error = "cannot instantiate";
  ASSERT_TRUE(orch_->Report("a", {f}).ok());
  w = Show("w");
  EXPECT_EQ(w.state, "degraded");
  EXPECT_NE(w.reason.find("cannot instantiate"), std::string::npos);
  EXPECT_EQ(orch_->Report("ghost", {f}).code(), Code::kNotFound);
}

TEST_F(OrchestratorTest, FollowsRedeploysAndBlocksDeletes) {
  std::string v1 = Deploy("f");
  Register("a");
  ASSERT_TRUE(
      orch_->Apply(R"({"name": "w", "functions": [{"name": "f", "function": "f"}]})", "t").ok());
  auto assignments = [&] {
    auto snap = orch_->workflow_store().Snapshot().value();
    return json::parse(NodeAssignmentsJson(*snap, "a", nullptr)).as_object();
  };
  json::object a1 = assignments();
  EXPECT_EQ(a1["instances"].as_array()[0].at("sha256"), json::value(v1));
  std::string v2 = Deploy("f", kModule + std::string("\0\4name", 6));
  ASSERT_NE(v1, v2);
  ASSERT_TRUE(orch_->Reconcile().ok());
  json::object a2 = assignments();
  EXPECT_EQ(a2["instances"].as_array()[0].at("sha256"), json::value(v2));
  EXPECT_GT(a2["revision"].as_int64(), a1["revision"].as_int64());
  EXPECT_EQ(orch_->WorkflowsUsing("f").value(), std::vector<std::string>{"w"});
  EXPECT_TRUE(orch_->WorkflowsUsing("g").value().empty());
}

TEST_F(OrchestratorTest, TheDeliveryModeReachesEveryInstance) {
  Deploy("f");
  Register("a");
  ASSERT_TRUE(orch_
                  ->Apply(R"({"name": "w", "delivery": "at-least-once",
                              "functions": [{"name": "f", "function": "f", "output_mapping": {"out": "log"}}],
                              "resources": [{"name": "log", "class_type": "file-log",
                                             "configurations": {"filename": "x.log"}}]})",
                          "t")
                  .ok());
  auto snap = orch_->workflow_store().Snapshot().value();
  json::object a = json::parse(NodeAssignmentsJson(*snap, "a", nullptr)).as_object();
  ASSERT_EQ(a["instances"].as_array().size(), 2u);
  for (const json::value& i : a["instances"].as_array()) {
    EXPECT_EQ(i.at("delivery"), json::value("at-least-once")) << json::serialize(i);
  }
}

// The incarnation names a workflow's JetStream stream and buckets: an
// update keeps it, a delete and create under the same name changes it, and
// engines get every workflow's (to tell the streams of deleted ones).
TEST_F(OrchestratorTest, AWorkflowCreatedAgainHasANewIncarnation) {
  Deploy("f");
  Register("a");
  const char* spec = R"({"name": "w", "delivery": "at-least-once",
                         "functions": [{"name": "f", "function": "f"}]})";
  auto assignments = [&] {
    auto snap = orch_->workflow_store().Snapshot().value();
    return protocol::ParseAssignments(NodeAssignmentsJson(*snap, "a", nullptr)).value();
  };
  ASSERT_TRUE(orch_->Apply(spec, "t").ok());
  protocol::Assignments a1 = assignments();
  ASSERT_EQ(a1.instances.size(), 1u);
  int64_t first = a1.instances[0].incarnation;
  EXPECT_GT(first, 0);
  EXPECT_LE(first, a1.revision);
  EXPECT_EQ(a1.workflows, (protocol::WorkflowIncarnations{{"w", first}}));

  // An update (here a re-deploy followed by the workflow) keeps it.
  Deploy("f", kModule + std::string("\0\4name", 6));
  ASSERT_TRUE(orch_->Reconcile().ok());
  protocol::Assignments a2 = assignments();
  ASSERT_GT(a2.revision, a1.revision);
  EXPECT_EQ(a2.instances.at(0).incarnation, first);

  ASSERT_TRUE(orch_->Delete("w", "t").ok());
  protocol::Assignments gone = assignments();
  EXPECT_TRUE(gone.instances.empty());
  EXPECT_EQ(gone.workflows, protocol::WorkflowIncarnations{});

  // Created again: above every revision a view that lacked it was at.
  ASSERT_TRUE(orch_->Apply(spec, "t").ok());
  protocol::Assignments again = assignments();
  ASSERT_EQ(again.instances.size(), 1u);
  EXPECT_GT(again.instances[0].incarnation, gone.revision);
  EXPECT_EQ(again.workflows,
            (protocol::WorkflowIncarnations{{"w", again.instances[0].incarnation}}));
}

// A record written before incarnations keeps the names without one (0);
// an unreadable record withholds the list, so no engine deletes its stream.
TEST_F(OrchestratorTest, OlderAndUnreadableRecordsInTheWorkflowList) {
  Deploy("f");
  Register("a");
  ASSERT_TRUE(
      orch_->Apply(R"({"name": "old", "functions": [{"name": "f", "function": "f"}]})", "t").ok());
  auto snap = orch_->workflow_store().Snapshot().value();
  WorkflowRecord rec = *snap->Find("old");
  rec.incarnated = false;
  ASSERT_TRUE(orch_->workflow_store().Update(rec).ok());
  snap = orch_->workflow_store().Snapshot().value();
  protocol::Assignments a =
      protocol::ParseAssignments(NodeAssignmentsJson(*snap, "a", nullptr)).value();
  EXPECT_EQ(a.instances.at(0).incarnation, 0);
  EXPECT_EQ(a.workflows, (protocol::WorkflowIncarnations{{"old", 0}}));

  ASSERT_TRUE(store_->Put(WorkflowStore::Key("broken"), "{not json").ok());
  ASSERT_TRUE(store_->Put("meta/workflows", "broken").ok());
  snap = orch_->workflow_store().Snapshot().value();
  EXPECT_FALSE(snap->complete);
  a = protocol::ParseAssignments(NodeAssignmentsJson(*snap, "a", nullptr)).value();
  EXPECT_EQ(a.instances.size(), 1u);
  EXPECT_FALSE(a.workflows.has_value());
}

TEST_F(OrchestratorTest, UnknownFunctionsAndDuplicateNamesAreRejected) {
  Deploy("f");
  Result<WorkflowView> unknown =
      orch_->Apply(R"({"functions": [{"name": "x", "function": "nope"}]})", "t");
  EXPECT_EQ(unknown.status().code(), Code::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("functions[0]"), std::string::npos)
      << unknown.status().message();
  ASSERT_TRUE(
      orch_->Apply(R"({"name": "w", "functions": [{"name": "f", "function": "f"}]})", "t").ok());
  EXPECT_EQ(orch_->Apply(R"({"name": "w", "functions": [{"name": "f", "function": "f"}]})", "t")
                .status()
                .code(),
            Code::kAlreadyExists);
  EXPECT_EQ(orch_->Delete("nope", "t").code(), Code::kNotFound);
  ASSERT_TRUE(orch_->Delete("w", "t").ok());
  EXPECT_EQ(orch_->Show("w").status().code(), Code::kNotFound);
  EXPECT_EQ(EventsOf("workflow_deleted").size(), 1u);
}

TEST_F(OrchestratorTest, SurvivesARestart) {
  Deploy("f");
  Register("a");
  Register("b");
  ASSERT_TRUE(orch_
                  ->Apply(R"({"name": "w", "functions": [{"name": "f", "function": "f",
      "annotations": {"max_instances": 2}}]})",
                          "t")
                  .ok());
  std::map<std::string, std::string> before = Placement("w");
  WorkflowSpec spec_before = Show("w").spec;
  Close();
  Open();
  ASSERT_TRUE(orch_->Reconcile().ok());
  EXPECT_EQ(Placement("w"), before);
  EXPECT_EQ(Show("w").spec, spec_before);
  EXPECT_EQ(orch_->List().value().workflows.size(), 1u);
}

TEST_F(OrchestratorTest, ARemovedNodeIsHealedLikeADeadOne) {
  Deploy("f");
  Register("a");
  Register("b");
  ASSERT_TRUE(
      orch_->Apply(R"({"name": "w", "functions": [{"name": "f", "function": "f"}]})", "t").ok());
  std::string victim = Placement("w")["w/f/0"];
  ASSERT_FALSE(victim.empty());
  ASSERT_TRUE(nodes_->Remove(victim, "api").ok());
  ASSERT_TRUE(orch_->Reconcile().ok());
  std::string now = Placement("w")["w/f/0"];
  EXPECT_FALSE(now.empty());
  EXPECT_NE(now, victim);
  ASSERT_EQ(EventsOf("node_lost").size(), 1u);
  EXPECT_EQ(DataOf(EventsOf("node_lost")[0]).at("node_id"), json::value(victim));
  EXPECT_EQ(EventsOf("instance_moved").size(), 1u);
}

TEST_F(OrchestratorTest, AssignmentsNameThePeersThatMaySendHere) {
  Deploy("f");
  Deploy("g");
  Register("a");
  Register("b");
  ASSERT_TRUE(orch_
                  ->Apply(R"({"name": "w", "functions": [
      {"name": "f", "function": "f", "output_mapping": {"out": "g"},
       "annotations": {"node_id_match_any": ["a"]}},
      {"name": "g", "function": "g", "annotations": {"node_id_match_any": ["b"]}}],
      "resources": [{"name": "log", "class_type": "file-log",
                     "annotations": {"node_id_match_any": ["b"]}}]})",
                          "t")
                  .ok());
  PairDigestFn digest = [this](const std::string& from, const std::string& to) {
    return nodes_->PairTokenDigest(from, to);
  };
  auto assignments = [&](const std::string& node) {
    auto snap = orch_->workflow_store().Snapshot().value();
    return json::parse(NodeAssignmentsJson(*snap, node, digest)).as_object();
  };
  json::object b = assignments("b");
  ASSERT_EQ(b["peers"].as_array().size(), 1u) << json::serialize(b);
  const json::object& peer = b["peers"].as_array()[0].as_object();
  EXPECT_EQ(peer.at("node_id"), "a");
  EXPECT_EQ(peer.at("token_sha256"), json::value(*nodes_->PairTokenDigest("a", "b")));
  // Only g, which f's output reaches; not the log nothing sends to.
  EXPECT_EQ(peer.at("instances"), (json::array{"w/g/0"}));
  // And back: g may answer f, its sender (its "@f" route).
  json::object a = assignments("a");
  ASSERT_EQ(a["peers"].as_array().size(), 1u) << json::serialize(a);
  const json::object& back = a["peers"].as_array()[0].as_object();
  EXPECT_EQ(back.at("node_id"), "b");
  EXPECT_EQ(back.at("token_sha256"), json::value(*nodes_->PairTokenDigest("b", "a")));
  EXPECT_EQ(back.at("instances"), (json::array{"w/f/0"}));

  // a admitted again (removed, then joins anew): a new credential changes
  // the stored placement, so b's poll wakes with a's new token digest.
  int64_t before = assignments("b")["revision"].as_int64();
  ASSERT_TRUE(nodes_->Remove("a", "api").ok());
  Register("a");
  ASSERT_TRUE(orch_->Reconcile().ok());
  json::object b2 = assignments("b");
  EXPECT_GT(b2["revision"].as_int64(), before);
  ASSERT_EQ(b2["peers"].as_array().size(), 1u);
  EXPECT_NE(b2["peers"].as_array()[0].at("token_sha256"), peer.at("token_sha256"));
}

// Every function instance gets "@<sender>" outputs: routes to the
// components that map an output to it, which an EDGELESS function's
// cast_raw / call_raw back to its sender takes. Resources get none.
TEST_F(OrchestratorTest, FunctionsGetRoutesBackToTheirSenders) {
  Deploy("f");
  Register("a");
  ASSERT_TRUE(orch_
                  ->Apply(R"({"name": "w", "functions": [
      {"name": "first", "function": "f", "output_mapping": {"out": "second"},
       "annotations": {"max_instances": 2}},
      {"name": "second", "function": "f", "output_mapping": {"out": "third"}},
      {"name": "third", "function": "f", "output_mapping": {"again": "third", "log": "log"}},
      {"name": "away", "function": "f", "output_mapping": {"out": "third"},
       "annotations": {"node_id_match_any": ["ghost"]}}],
      "resources": [
      {"name": "in", "class_type": "http-ingress", "configurations": {"path": "orders"},
       "output_mapping": {"new_request": "first"}},
      {"name": "log", "class_type": "file-log", "configurations": {"filename": "x.log"}}]})",
                          "t")
                  .ok());
  ASSERT_EQ(Placement("w")["w/away/0"], "") << "a node named ghost never registers";
  auto snap = orch_->workflow_store().Snapshot().value();
  protocol::Assignments got = NodeAssignments(*snap, "a", nullptr);
  std::map<std::string, protocol::InstanceAssignment> by_id;
  for (const protocol::InstanceAssignment& i : got.instances) by_id[i.id] = i;
  ASSERT_EQ(by_id.size(), 6u);
  auto on_a = [](const std::string& id) {
    return protocol::OutputTarget{id, "a", "http://a:9091"};
  };
  using Outputs = std::map<std::string, std::vector<protocol::OutputTarget>>;
  using Components = std::map<std::string, std::string>;

  // The ingress sends to first: "@in"; the user's output stays as it is.
  for (const char* id : {"w/first/0", "w/first/1"}) {
    EXPECT_EQ(by_id[id].outputs,
              (Outputs{{"out", {on_a("w/second/0")}}, {"@in", {on_a("w/in/0")}}}));
    EXPECT_EQ(by_id[id].output_components, (Components{{"out", "second"}, {"@in", "in"}}));
  }
  // Both instances of first (max_instances 2).
  EXPECT_EQ(
      by_id["w/second/0"].outputs,
      (Outputs{{"out", {on_a("w/third/0")}}, {"@first", {on_a("w/first/0"), on_a("w/first/1")}}}));
  EXPECT_EQ(by_id["w/second/0"].output_components,
            (Components{{"out", "third"}, {"@first", "first"}}));
  // Itself (a self-loop), second, and away, whose instance is unplaced: a
  // route without targets, its component still named (an at-least-once
  // cast waits in the log).
  EXPECT_EQ(by_id["w/third/0"].outputs, (Outputs{{"again", {on_a("w/third/0")}},
                                                 {"log", {on_a("w/log/0")}},
                                                 {"@second", {on_a("w/second/0")}},
                                                 {"@third", {on_a("w/third/0")}},
                                                 {"@away", {}}}));
  EXPECT_EQ(by_id["w/third/0"].output_components, (Components{{"again", "third"},
                                                              {"log", "log"},
                                                              {"@second", "second"},
                                                              {"@third", "third"},
                                                              {"@away", "away"}}));
  // Resources: their own outputs only, also the log third sends to.
  EXPECT_EQ(by_id["w/in/0"].outputs,
            (Outputs{{"new_request", {on_a("w/first/0"), on_a("w/first/1")}}}));
  EXPECT_EQ(by_id["w/in/0"].output_components, (Components{{"new_request", "first"}}));
  EXPECT_TRUE(by_id["w/log/0"].outputs.empty());
  EXPECT_TRUE(by_id["w/log/0"].output_components.empty());
  // What the engine parses back is the same.
  EXPECT_EQ(protocol::ParseAssignments(NodeAssignmentsJson(*snap, "a", nullptr)).value(), got);
}

// The dataplane takes from another node only what that node's routes
// reach: a function's routes back to its senders are among them, also to
// a resource that sends to it.
TEST_F(OrchestratorTest, PeersMayAnswerTheirSenders) {
  Deploy("f");
  Register("a");
  Register("b");
  ASSERT_TRUE(orch_
                  ->Apply(R"({"name": "w", "functions": [
      {"name": "f", "function": "f", "annotations": {"node_id_match_any": ["a"]}}],
      "resources": [
      {"name": "in", "class_type": "http-ingress", "configurations": {"path": "orders"},
       "output_mapping": {"new_request": "f"}, "annotations": {"node_id_match_any": ["b"]}},
      {"name": "log", "class_type": "file-log", "configurations": {"filename": "x.log"},
       "annotations": {"node_id_match_any": ["b"]}}]})",
                          "t")
                  .ok());
  auto snap = orch_->workflow_store().Snapshot().value();
  PairDigestFn digest = [this](const std::string& from, const std::string& to) {
    return nodes_->PairTokenDigest(from, to);
  };
  // Forward: the ingress on b sends to f.
  EXPECT_EQ(
      NodeAssignments(*snap, "a", digest).peers,
      (std::vector<protocol::PeerGrant>{{"b", *nodes_->PairTokenDigest("b", "a"), {"w/f/0"}}}));
  // Back: f answers the ingress (not the log, which sends nothing to f).
  EXPECT_EQ(
      NodeAssignments(*snap, "b", digest).peers,
      (std::vector<protocol::PeerGrant>{{"a", *nodes_->PairTokenDigest("a", "b"), {"w/in/0"}}}));
}

}  // namespace
}  // namespace aether::control
