// The janitor against a real nats-server (JetStreamTest): what it deletes
// and what it keeps, asked of the server through the test's own
// connection; names of another prefix, of live workflows and of workflows
// newer than the view stay; a name without an incarnation goes only once
// a later view confirms it; a deleted workflow that ran here is swept at
// once by the background thread.
#include "workflow/jetstream_janitor.h"

#include <algorithm>

#include "workflow/jetstream_kv.h"
#include "workflow/jetstream_test_util.h"

namespace aether::workflow {
namespace {

using namespace std::chrono_literals;
using aether::testing::Eventually;
using protocol::Assignments;
using protocol::WorkflowIncarnations;
using SteadyClock = std::chrono::steady_clock;

class JanitorTest : public testing::JetStreamTest {
 protected:
  // A stream with `n` events waiting for `component`, and its consumer.
  void MakeStream(EventLog& log, WorkflowRef w, int n = 2) {
    ASSERT_TRUE(log.EnsureWorkflow(w).ok());
    auto sub = Subscribe(log, w, "fn");  // creates the durable consumer
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(Append(log, w, "fn", "e" + std::to_string(i)).ok());
    }
  }
  // A durable kv's bucket with one key.
  void MakeBucket(WorkflowRef w, std::string_view component) {
    if (buckets_ == nullptr) buckets_ = KvBuckets::Create(Options());
    auto bucket = buckets_->Open(w, component, 1024);
    ASSERT_TRUE(bucket.ok()) << bucket.status().ToString();
    ASSERT_TRUE((*bucket)->Put("k", "v").ok());
  }
  bool Exists(const std::string& stream) const { return Look(stream).stream_exists; }
  static std::string Bucket(WorkflowRef w, std::string_view component) {
    return "KV_" + KvBucketNameOf("aether", w, component);
  }
  static Assignments View(int64_t revision, WorkflowIncarnations workflows) {
    Assignments a;
    a.revision = revision;
    a.workflows = std::move(workflows);
    return a;
  }

  std::shared_ptr<KvBuckets> buckets_;  // made on first use (the server runs then)
};

TEST_F(JanitorTest, DeletesTheStreamsAndBucketsOfDeletedWorkflows) {
  auto log = Connect();
  ASSERT_NE(log, nullptr);
  MakeStream(*log, {"gone", 5});
  MakeBucket({"gone", 5}, "store");
  MakeBucket({"gone", 5}, "other");
  MakeStream(*log, {"live", 6});
  MakeBucket({"live", 6}, "store");
  ASSERT_TRUE(Exists("aether_wf_gone_I5"));
  ASSERT_TRUE(Exists(Bucket({"gone", 5}, "store")));

  JetStreamJanitor janitor(Options(), /*background=*/false);
  EXPECT_EQ(janitor.SweepNow().status().code(), Code::kFailedPrecondition);  // no view yet
  janitor.Observe(View(10, {{"live", 6}}), SteadyClock::now());
  auto r = janitor.SweepNow();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::vector<std::string> deleted = r->deleted;
  std::sort(deleted.begin(), deleted.end());
  EXPECT_EQ(deleted, (std::vector<std::string>{Bucket({"gone", 5}, "other"),
                                               Bucket({"gone", 5}, "store"), "aether_wf_gone_I5"}));
  EXPECT_FALSE(Exists("aether_wf_gone_I5"));
  EXPECT_FALSE(Exists(Bucket({"gone", 5}, "store")));
  EXPECT_FALSE(Exists(Bucket({"gone", 5}, "other")));
  EXPECT_TRUE(Exists("aether_wf_live_I6"));
  EXPECT_EQ(Look("aether_wf_live_I6").messages, 2u);
  EXPECT_TRUE(Exists(Bucket({"live", 6}, "store")));

  // Again: nothing left to delete, nothing fails.
  r = janitor.SweepNow();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->deleted.empty());
  EXPECT_EQ(janitor.sweeps(), 2);
}

// An engine whose view is older than a workflow must keep its stream: the
// workflow's incarnation is above the view's revision.
TEST_F(JanitorTest, AStaleViewKeepsWhatIsNewerThanIt) {
  auto log = Connect();
  ASSERT_NE(log, nullptr);
  MakeStream(*log, {"fresh", 11});
  MakeBucket({"fresh", 11}, "store");
  MakeStream(*log, {"fresh", 4});  // its predecessor under the same name: dead
  JetStreamJanitor janitor(Options(), false);
  janitor.Observe(View(10, {}), SteadyClock::now());
  auto r = janitor.SweepNow();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->deleted, std::vector<std::string>{"aether_wf_fresh_I4"});
  EXPECT_TRUE(Exists("aether_wf_fresh_I11"));
  EXPECT_EQ(Look("aether_wf_fresh_I11").messages, 2u);
  EXPECT_TRUE(Exists(Bucket({"fresh", 11}, "store")));
  // Once the view has caught up and the workflow is still there: kept.
  janitor.Observe(View(12, {{"fresh", 11}}), SteadyClock::now());
  ASSERT_TRUE(janitor.SweepNow().ok());
  EXPECT_TRUE(Exists("aether_wf_fresh_I11"));
}

TEST_F(JanitorTest, KeepsWhatIsNotAethersOrAnotherPrefixs) {
  auto log = Connect();
  ASSERT_NE(log, nullptr);
  JetStreamOptions other = Options();
  other.prefix = "fleet2";
  auto other_log = Connect(other);
  ASSERT_NE(other_log, nullptr);
  MakeStream(*other_log, {"gone", 3});
  WithJetStream([](jsCtx* js) {
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = "ORDERS";
    const char* subjects[] = {"orders.>"};
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    ASSERT_EQ(js_AddStream(nullptr, js, &cfg, nullptr, nullptr), NATS_OK);
  });
  JetStreamJanitor janitor(Options(), false);
  janitor.Observe(View(100, {}), SteadyClock::now());
  auto r = janitor.SweepNow();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->deleted.empty());
  EXPECT_TRUE(Exists("fleet2_wf_gone_I3"));
  EXPECT_TRUE(Exists("ORDERS"));
}

// A name without an incarnation (a workflow created before them) goes only
// when a view asked for after the sweep that first found it dead agrees.
TEST_F(JanitorTest, ANameWithoutAnIncarnationNeedsASecondView) {
  auto log = Connect();
  ASSERT_NE(log, nullptr);
  MakeStream(*log, "old");
  MakeBucket("old", "store");
  MakeStream(*log, "kept");
  MakeStream(*log, "reborn");  // deleted, then created again with an incarnation
  JetStreamJanitor janitor(Options(), false);
  auto before = SteadyClock::now();
  janitor.Observe(View(50, {{"kept", 0}, {"reborn", 40}}), before);
  auto r = janitor.SweepNow();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->deleted.empty());
  EXPECT_EQ(r->waiting.size(), 3u);
  // The same view again (asked for before the listing): still waiting.
  r = janitor.SweepNow();
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->deleted.empty());
  EXPECT_TRUE(Exists("aether_wf_old"));

  janitor.Observe(View(51, {{"kept", 0}, {"reborn", 40}}), SteadyClock::now());
  r = janitor.SweepNow();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::vector<std::string> deleted = r->deleted;
  std::sort(deleted.begin(), deleted.end());
  EXPECT_EQ(deleted, (std::vector<std::string>{"KV_aether_kv_3_old_store", "aether_wf_old",
                                               "aether_wf_reborn"}));
  EXPECT_TRUE(Exists("aether_wf_kept"));
  EXPECT_FALSE(Exists("aether_wf_old"));
  EXPECT_FALSE(Exists("KV_aether_kv_3_old_store"));
}

// In the background: the first view sweeps; a workflow that ran here (at
// least once, or a durable kv) and leaves the view is swept at once, long
// before the interval.
TEST_F(JanitorTest, AWorkflowThatRanHereIsSweptWhenItIsDeleted) {
  auto log = Connect();
  ASSERT_NE(log, nullptr);
  JetStreamOptions o = Options();
  o.sweep_interval = std::chrono::hours(1);
  JetStreamJanitor janitor(o);
  Assignments a = View(7, {{"w", 7}, {"kvw", 6}});
  protocol::InstanceAssignment fn;
  fn.id = "w/fn/0";
  fn.workflow = "w";
  fn.component = "fn";
  fn.incarnation = 7;
  fn.delivery = protocol::Delivery::kAtLeastOnce;
  protocol::InstanceAssignment kv;
  kv.id = "kvw/store/0";
  kv.workflow = "kvw";
  kv.component = "store";
  kv.kind = protocol::InstanceAssignment::Kind::kResource;
  kv.class_type = "kv";
  kv.configurations = {{"storage", "durable"}};
  kv.incarnation = 6;
  a.instances = {fn, kv};
  janitor.Observe(a, SteadyClock::now());
  ASSERT_TRUE(Eventually([&] { return janitor.sweeps() >= 1; }, 10s));
  MakeStream(*log, {"w", 7});
  MakeBucket({"kvw", 6}, "store");

  janitor.Observe(View(8, {{"kvw", 6}}), SteadyClock::now());  // w deleted
  EXPECT_TRUE(Eventually([&] { return !Exists("aether_wf_w_I7"); }, 10s));
  janitor.Observe(View(9, {}), SteadyClock::now());  // kvw deleted
  EXPECT_TRUE(Eventually([&] { return !Exists(Bucket({"kvw", 6}, "store")); }, 10s));
}

TEST_F(JanitorTest, AnUnreachableServerFailsTheSweepAndNothingElse) {
  JetStreamOptions o = Options();
  server_->Kill();
  JetStreamJanitor janitor(o, false);
  janitor.Observe(View(1, {}), SteadyClock::now());
  auto r = janitor.SweepNow();
  EXPECT_EQ(r.status().code(), Code::kUnavailable) << r.status().ToString();
  // An older control plane sends no list: nothing is known dead.
  JetStreamJanitor quiet(o, false);
  quiet.Observe(Assignments{}, SteadyClock::now());
  EXPECT_EQ(quiet.SweepNow().status().code(), Code::kFailedPrecondition);
}

TEST(JanitorJudgeTest, TheRules) {
  WorkflowView v{10, {{"a", 5}, {"legacy", 0}}, {}};
  using K = JetStreamName::Kind;
  EXPECT_EQ(Judge({K::kEventStream, "a", 5, ""}, v), Verdict::kLive);
  EXPECT_EQ(Judge({K::kEventStream, "a", 3, ""}, v), Verdict::kDead);  // a's predecessor
  EXPECT_EQ(Judge({K::kKvBucket, "b", 10, "s"}, v), Verdict::kDead);   // deleted at <= 10
  EXPECT_EQ(Judge({K::kKvBucket, "b", 11, "s"}, v), Verdict::kLive);   // newer than the view
  EXPECT_EQ(Judge({K::kEventStream, "legacy", 0, ""}, v), Verdict::kLive);
  EXPECT_EQ(Judge({K::kEventStream, "a", 0, ""}, v), Verdict::kDeadTwice);
  EXPECT_EQ(Judge({K::kEventStream, "c", 0, ""}, v), Verdict::kDeadTwice);
}

}  // namespace
}  // namespace aether::workflow
