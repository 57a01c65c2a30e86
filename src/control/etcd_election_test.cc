// The leader election on etcd (etcd/etcd_election.h) and the fence on the
// leader's writes (leadership.h's FencedStore), against real etcd members
// on 127.0.0.1 (tests/support/etcd_cluster.h).
#include "control/etcd/etcd_election.h"

#include <gtest/gtest.h>

#include <functional>
#include <thread>

#include "common/testing/eventually.h"
#include "control/etcd_store.h"
#include "control/leadership.h"
#include "etcd_cluster.h"

namespace aether::control {
namespace {

using ::aether::testing::EtcdCluster;
using std::chrono::milliseconds;
using std::chrono::seconds;

std::unique_ptr<EtcdCluster> StartElectionEtcd(size_t members) {
  auto c = EtcdCluster::Start(members);
  EXPECT_TRUE(c.ok()) << c.status().message();
  return c.ok() ? std::move(c).value() : nullptr;
}

EtcdControlPlane Replica(const EtcdCluster& etcd, const std::string& id, seconds ttl) {
  auto r = OpenEtcdControlPlane({.endpoints = etcd.endpoints(), .prefix = "/t/"}, {id, ttl});
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? std::move(r).value() : EtcdControlPlane{};
}

// The election runs on its own thread: wait for what it does.
bool WaitFor(const std::function<bool()>& done, milliseconds timeout = milliseconds(20000)) {
  return ::aether::testing::Eventually(done, timeout);
}

// A replica alone on `etcd`, once it leads.
EtcdControlPlane Leading(const EtcdCluster& etcd, seconds ttl) {
  EtcdControlPlane a = Replica(etcd, "replica-a", ttl);
  EXPECT_TRUE(a.leadership && WaitFor([&] { return a.leadership->IsLeader(); }));
  return a;
}

std::string Holder(Store& store) {
  auto kv = store.Get(etcd::kElectionKey);
  return kv.ok() && *kv ? (*kv)->value : std::string();
}

TEST(EtcdElectionTest, ExactlyOneLeadsAndAResignHandsOverAtOnce) {
  auto etcd = StartElectionEtcd(1);
  ASSERT_NE(etcd, nullptr);
  // A long lease: a takeover within the wait below comes from the resign,
  // not from the lease running out.
  EtcdControlPlane a = Replica(*etcd, "replica-a", seconds(60));
  EtcdControlPlane b = Replica(*etcd, "replica-b", seconds(60));
  ASSERT_TRUE(a.leadership && b.leadership);
  ASSERT_TRUE(WaitFor([&] { return a.leadership->IsLeader() || b.leadership->IsLeader(); }));
  EtcdControlPlane& leader = a.leadership->IsLeader() ? a : b;
  EtcdControlPlane& follower = a.leadership->IsLeader() ? b : a;
  EXPECT_FALSE(follower.leadership->IsLeader());
  EXPECT_EQ(Holder(*a.store), leader.leadership->replica_id());
  // The term is the key at the revision it was won.
  auto kv = a.store->Get(etcd::kElectionKey);
  ASSERT_TRUE(kv.ok() && *kv);
  EXPECT_EQ(leader.leadership->Term()->revision, (*kv)->mod_revision);

  leader.leadership->Resign();
  EXPECT_FALSE(leader.leadership->IsLeader());
  EXPECT_TRUE(WaitFor([&] { return follower.leadership->IsLeader(); }, milliseconds(30000)));
  EXPECT_EQ(Holder(*a.store), follower.leadership->replica_id());
}

TEST(EtcdElectionTest, AWriteOfAnEndedTermIsFencedOut) {
  auto etcd = StartElectionEtcd(1);
  ASSERT_NE(etcd, nullptr);
  EtcdControlPlane a = Leading(*etcd, seconds(60));
  ASSERT_TRUE(a.leadership && a.leadership->IsLeader());
  FencedStore fenced(*a.store, *a.leadership);
  ASSERT_TRUE(fenced.Put("nodes/n1", "up").ok());

  // What a takeover looks like from a paused leader: its key is gone (its
  // lease lapsed) and another replica holds a new one — while its own
  // clock has not noticed yet.
  std::optional<Fence> old_term = a.leadership->Term();
  ASSERT_TRUE(old_term);
  ASSERT_TRUE(a.store->Delete(etcd::kElectionKey).ok());
  ASSERT_TRUE(a.store->Put(etcd::kElectionKey, "replica-b").ok());
  ASSERT_TRUE(a.leadership->IsLeader());

  Result<int64_t> w = fenced.Put("nodes/n1", "down");
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), Code::kUnavailable);
  EXPECT_NE(w.status().message().find("lost the lead"), std::string::npos) << w.status().message();
  EXPECT_EQ((*a.store->Get("nodes/n1"))->value, "up");
  EXPECT_FALSE(a.leadership->IsLeader());
  // And it does not write as a follower either (without asking etcd).
  Result<int64_t> again = fenced.Put("nodes/n1", "down");
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("not the leader"), std::string::npos);
  // The "other leader" goes away: a campaigns and wins a new term.
  ASSERT_TRUE(a.store->Delete(etcd::kElectionKey).ok());
  ASSERT_TRUE(WaitFor([&] { return a.leadership->IsLeader(); }));
  EXPECT_NE(*a.leadership->Term(), *old_term);
  EXPECT_TRUE(fenced.Put("nodes/n1", "down").ok());
}

TEST(EtcdElectionTest, AFailedCompareOfTheCallerIsNotTheFence) {
  auto etcd = StartElectionEtcd(1);
  ASSERT_NE(etcd, nullptr);
  EtcdControlPlane a = Leading(*etcd, seconds(60));
  ASSERT_TRUE(a.leadership && a.leadership->IsLeader());
  FencedStore fenced(*a.store, *a.leadership);
  ASSERT_TRUE(fenced.Put("k", "1").ok());
  // A CAS that lost its race: succeeded = false, as from the plain store.
  Result<TxnResult> r = fenced.Txn({{Compare::Absent("k")}, {Op::Put("k", "2")}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->succeeded);
  EXPECT_TRUE(a.leadership->IsLeader());
  // Reads pass through without a fence.
  EXPECT_EQ((*fenced.Get("k"))->value, "1");
}

TEST(EtcdElectionTest, ALeaderThatCannotKeepItsLeaseStopsLeadingByItself) {
  auto etcd = StartElectionEtcd(1);
  ASSERT_NE(etcd, nullptr);
  EtcdControlPlane a = Leading(*etcd, seconds(2));
  ASSERT_TRUE(a.leadership && a.leadership->IsLeader());
  etcd->Kill(0);
  // No write needed: the lease's deadline passes without a keepalive.
  EXPECT_TRUE(WaitFor([&] { return !a.leadership->IsLeader(); }, milliseconds(10000)));
}

TEST(EtcdElectionTest, TheEmbeddedLeaderAlwaysLeadsAndFencesNothing) {
  std::unique_ptr<Store> store = NewMemoryStore();
  std::unique_ptr<Leadership> lead = NewEmbeddedLeadership("solo", "memory");
  FencedStore fenced(*store, *lead);
  EXPECT_TRUE(lead->IsLeader());
  ASSERT_TRUE(fenced.Put("k", "v").ok());
  Result<TxnResult> r = fenced.Txn({{Compare::Absent("k")}, {Op::Put("k", "w")}});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->succeeded);
  lead->Resign();
  EXPECT_TRUE(lead->IsLeader());
}

TEST(EtcdElectionTest, BadOptions) {
  auto etcd = StartElectionEtcd(1);
  ASSERT_NE(etcd, nullptr);
  auto bad_id = OpenEtcdControlPlane({.endpoints = etcd->endpoints()}, {"bad id!", seconds(5)});
  ASSERT_FALSE(bad_id.ok());
  EXPECT_EQ(bad_id.status().code(), Code::kInvalidArgument);
  EXPECT_NE(bad_id.status().message().find("replica_id"), std::string::npos);
  auto short_ttl = OpenEtcdControlPlane({.endpoints = etcd->endpoints()}, {"a", seconds(1)});
  ASSERT_FALSE(short_ttl.ok());
  EXPECT_NE(short_ttl.status().message().find("lease_ttl"), std::string::npos);
}

}  // namespace
}  // namespace aether::control
