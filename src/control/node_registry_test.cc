#include "control/node_registry.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <set>

#include "common/node_credential.h"
#include "common/sha256.h"
#include "common/testing/fake_clock.h"
#include "control/leadership.h"

namespace aether::control {
namespace {

using std::chrono::seconds;

// Another replica's view of the same store, whose reads can be made to fail
// (etcd without quorum).
class OutageStore final : public Store {
 public:
  explicit OutageStore(Store& inner) : inner_(inner) {}
  void Down(bool down) { down_ = down; }
  Result<TxnResult> Txn(const TxnRequest& txn) override {
    if (down_) return Unavailable("etcd has no quorum");
    return inner_.Txn(txn);
  }
  Result<int64_t> Revision() override { return inner_.Revision(); }
  Result<int64_t> WaitForRevision(int64_t after, std::chrono::milliseconds timeout) override {
    return inner_.WaitForRevision(after, timeout);
  }

 private:
  Store& inner_;
  std::atomic<bool> down_{false};
};

class NodeRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = NewMemoryStore();
    events_ = EventLog::Open(*store_).value();
    registry_ = Open();
  }
  // Another replica's registry: on `store` (default the shared one),
  // deciding as `leader` when set.
  std::unique_ptr<NodeRegistry> Open(Store* store = nullptr, FencedStore* leader = nullptr,
                                     seconds node_timeout = seconds(10)) {
    NodeRegistryOptions o;
    o.node_timeout = node_timeout;
    o.clock = &clock_;
    o.leader = leader;
    o.replicated = leader != nullptr;
    return NodeRegistry::Open(store != nullptr ? *store : *store_, *events_, o).value();
  }
  std::vector<std::string> EventTypes() {
    std::vector<std::string> out;
    auto page = events_->List(0, "", 1000);  // named: a temporary would dangle in the for
    for (auto& e : page->events) out.push_back(e.type);
    return out;
  }
  Status Beat(const std::string& id, std::map<std::string, std::string> ready,
              int64_t inflight = 0) {
    return registry_->Beat({id, {inflight, 0}, std::move(ready), 0});
  }

  aether::testing::FakeClock clock_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<EventLog> events_;
  std::unique_ptr<NodeRegistry> registry_;
};

TEST_F(NodeRegistryTest, DownAfterTimeoutUpOnBeat) {
  ASSERT_TRUE(registry_->Admit({"n1", "http://a", {{"zone", "x"}}, {}}).ok());
  EXPECT_EQ(registry_->Count().up, 1);
  clock_.Advance(seconds(9));
  registry_->Sweep();
  EXPECT_EQ(registry_->Count().up, 1);
  clock_.Advance(seconds(1));
  registry_->Sweep();
  EXPECT_EQ(registry_->Count().down, 1);
  ASSERT_TRUE(Beat("n1", {}).ok());
  EXPECT_EQ(registry_->Count().up, 1);
  EXPECT_EQ(EventTypes(), (std::vector<std::string>{"node_registered", "node_down", "node_up"}));
}

// A node stopping gracefully is down at once (it stayed "up", and was
// routed to, for a whole node_timeout), and up again when it beats.
TEST_F(NodeRegistryTest, ALeavingNodeIsDownAtOnceAndUpWhenItBeatsAgain) {
  ASSERT_TRUE(registry_->Admit({"n1", "http://a", {}, {}}).ok());
  ASSERT_TRUE(Beat("n1", {{"f", "sha"}}).ok());
  ASSERT_TRUE(registry_->Leave("n1").ok());
  EXPECT_EQ(registry_->Count().down, 1);
  EXPECT_FALSE(registry_->Pick("f", "sha").has_value()) << "no requests to a node that left";
  ASSERT_TRUE(registry_->Leave("n1").ok()) << "again: nothing changes";
  auto page = events_->List(0, "node_down", 10);
  ASSERT_EQ(page->events.size(), 1u);
  EXPECT_NE(page->events[0].data.find("\"reason\":\"left\""), std::string::npos)
      << page->events[0].data;
  // Stored: a restarted control plane does not take it for up.
  EXPECT_EQ(Open()->Count().down, 1);
  ASSERT_TRUE(Beat("n1", {}).ok());
  EXPECT_EQ(registry_->Count().up, 1);
  EXPECT_EQ(registry_->Leave("ghost").code(), Code::kNotFound);
}

TEST_F(NodeRegistryTest, StampsComeFromTheClock) {
  ASSERT_TRUE(registry_->Admit({"n1", "http://a", {}, {}}).ok());
  clock_.Advance(seconds(61));
  ASSERT_TRUE(Beat("n1", {}).ok());
  std::vector<NodeStatus> nodes = registry_->List();
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(nodes[0].registered_at, "2024-01-01T00:00:00Z");
  EXPECT_EQ(nodes[0].last_heartbeat, "2024-01-01T00:01:01Z");
}

TEST_F(NodeRegistryTest, UnknownNodeBeatIsNotFound) {
  EXPECT_EQ(Beat("ghost", {}).code(), Code::kNotFound);
}

TEST_F(NodeRegistryTest, PickChoosesReadyLeastLoadedAndCountsInflight) {
  ASSERT_TRUE(registry_->Admit({"a", "http://a", {}, {}}).ok());
  ASSERT_TRUE(registry_->Admit({"b", "http://b", {}, {}}).ok());
  ASSERT_TRUE(registry_->Admit({"c", "http://c", {}, {}}).ok());
  ASSERT_TRUE(Beat("a", {{"f", "s1"}}, 5).ok());
  ASSERT_TRUE(Beat("b", {{"f", "s1"}}, 0).ok());
  ASSERT_TRUE(Beat("c", {{"f", "old"}}, 0).ok());  // an older version: never chosen
  auto p1 = registry_->Pick("f", "s1");
  ASSERT_TRUE(p1);
  EXPECT_EQ(p1->node_id, "b");
  // b's outstanding gateway requests count: it stays the choice while it
  // has fewer than a's reported 5.
  for (int i = 0; i < 4; ++i) ASSERT_EQ(registry_->Pick("f", "s1")->node_id, "b");
  ASSERT_TRUE(Beat("a", {{"f", "s1"}}, 0).ok());  // a is idle now: b has 5
  EXPECT_EQ(registry_->Pick("f", "s1")->node_id, "a");
  for (int i = 0; i < 5; ++i) registry_->Release("b");
  registry_->Release("b");  // extra releases never go below zero
  ASSERT_TRUE(Beat("a", {{"f", "s1"}}, 3).ok());
  EXPECT_EQ(registry_->Pick("f", "s1")->node_id, "b");
  // Exclusion (the retry) and nothing ready.
  EXPECT_EQ(registry_->Pick("f", "s1", {"b"})->node_id, "a");
  EXPECT_FALSE(registry_->Pick("f", "s1", {"a", "b"}));
  EXPECT_FALSE(registry_->Pick("g", "s1"));
  // Down nodes are never chosen.
  clock_.Advance(seconds(11));
  registry_->Sweep();
  EXPECT_FALSE(registry_->Pick("f", "s1"));
}

TEST_F(NodeRegistryTest, RegistrationsSurviveReopenWithGrace) {
  ASSERT_TRUE(registry_->Admit({"n1", "http://a", {{"k", "v"}}, {}}).ok());
  ASSERT_TRUE(registry_->Admit({"n2", "http://b", {}, {}}).ok());
  clock_.Advance(seconds(5));
  ASSERT_TRUE(Beat("n1", {}).ok());
  clock_.Advance(seconds(6));
  registry_->Sweep();  // n2 down, n1 up
  registry_ = Open();
  auto nodes = registry_->List();
  ASSERT_EQ(nodes.size(), 2u);
  EXPECT_TRUE(nodes[0].up);
  EXPECT_EQ(nodes[0].reg.labels.at("k"), "v");
  EXPECT_FALSE(nodes[1].up);
  // n1 gets a full timeout from the restart before it is marked down.
  clock_.Advance(seconds(9));
  registry_->Sweep();
  EXPECT_EQ(registry_->Count().up, 1);
  clock_.Advance(seconds(1));
  registry_->Sweep();
  EXPECT_EQ(registry_->Count().up, 0);
}

TEST_F(NodeRegistryTest, AdmitIssuesACredentialAndStoresOnlyWhatIsDerived) {
  Result<std::string> secret = registry_->Admit({"n1", "http://a", {}, {}});
  ASSERT_TRUE(secret.ok()) << secret.status().message();
  EXPECT_EQ(secret->size(), 64u);
  EXPECT_TRUE(registry_->Authenticate("n1", *secret).ok());
  EXPECT_EQ(registry_->Authenticate("n1", "wrong").code(), Code::kPermissionDenied);
  EXPECT_EQ(registry_->Authenticate("n1", "").code(), Code::kPermissionDenied);
  EXPECT_EQ(registry_->Authenticate("n2", *secret).code(), Code::kNotFound);
  std::optional<KeyValue> row = store_->Get("nodes/n1").value();
  ASSERT_TRUE(row);
  EXPECT_EQ(row->value.find(*secret), std::string::npos) << "the secret itself is never stored";
  EXPECT_NE(row->value.find(CredentialDigest(*secret)), std::string::npos);
  // Another secret each time.
  Result<std::string> other = registry_->Admit({"n2", "http://b", {}, {}});
  ASSERT_TRUE(other.ok());
  EXPECT_NE(*other, *secret);
  // The credential survives a restart of the control plane.
  registry_ = Open();
  EXPECT_TRUE(registry_->Authenticate("n1", *secret).ok());
  EXPECT_FALSE(registry_->List()[0].credential_id.empty());
}

TEST_F(NodeRegistryTest, TheJoinTokenCannotTakeOverAKnownNode) {
  Result<std::string> secret = registry_->Admit({"n1", "http://a", {}, {}});
  ASSERT_TRUE(secret.ok());
  Result<std::string> again = registry_->Admit({"n1", "http://evil", {}, {}});
  EXPECT_EQ(again.status().code(), Code::kAlreadyExists);
  clock_.Advance(seconds(11));
  registry_->Sweep();  // down nodes too
  EXPECT_EQ(registry_->Admit({"n1", "http://evil", {}, {}}).status().code(), Code::kAlreadyExists);
  EXPECT_EQ(registry_->List()[0].reg.url, "http://a");
  // Its own (authenticated) registration replaces the url and keeps the credential.
  ASSERT_TRUE(registry_->Register({"n1", "http://a2", {}, {}}).ok());
  EXPECT_EQ(registry_->List()[0].reg.url, "http://a2");
  EXPECT_TRUE(registry_->List()[0].up);
  EXPECT_TRUE(registry_->Authenticate("n1", *secret).ok());
  EXPECT_EQ(registry_->Register({"ghost", "http://g", {}, {}}).code(), Code::kNotFound);
}

TEST_F(NodeRegistryTest, RemoveRevokesUntilTheIdIsAdmittedAgain) {
  Result<std::string> secret = registry_->Admit({"n1", "http://a", {}, {}});
  ASSERT_TRUE(secret.ok());
  std::string old_id = registry_->List()[0].credential_id;
  ASSERT_TRUE(store_->Put("seen/n1", "").ok());  // a beat a follower relayed
  ASSERT_TRUE(registry_->Remove("n1", "api").ok());
  EXPECT_FALSE(store_->Get("seen/n1").value().has_value()) << "left behind by the removal";
  EXPECT_EQ(registry_->Remove("n1", "api").code(), Code::kNotFound);
  EXPECT_TRUE(registry_->List().empty());
  EXPECT_FALSE(registry_->Has("n1"));
  Status auth = registry_->Authenticate("n1", *secret);
  EXPECT_EQ(auth.code(), Code::kPermissionDenied);
  EXPECT_NE(auth.message().find("removed"), std::string::npos) << auth.message();
  EXPECT_EQ(Beat("n1", {}).code(), Code::kPermissionDenied);
  EXPECT_EQ(registry_->Register({"n1", "http://a", {}, {}}).code(), Code::kPermissionDenied);
  EXPECT_FALSE(registry_->PairTokenDigest("n1", "n2"));
  auto page = events_->List(0, "node_removed", 10);
  ASSERT_EQ(page->events.size(), 1u);
  EXPECT_EQ(page->events[0].source, "api");

  // Still revoked after a restart.
  registry_ = Open();
  EXPECT_EQ(registry_->Authenticate("n1", *secret).code(), Code::kPermissionDenied);
  EXPECT_TRUE(registry_->List().empty());

  // The join token admits the id again, as a new node with a new credential.
  Result<std::string> fresh = registry_->Admit({"n1", "http://a", {}, {}});
  ASSERT_TRUE(fresh.ok());
  EXPECT_NE(*fresh, *secret);
  EXPECT_TRUE(registry_->Authenticate("n1", *fresh).ok());
  EXPECT_EQ(registry_->Authenticate("n1", *secret).code(), Code::kPermissionDenied);
  EXPECT_NE(registry_->List()[0].credential_id, old_id);
}

TEST_F(NodeRegistryTest, ANodeStoredBeforeCredentialsIsAdmittedOnce) {
  ASSERT_TRUE(store_->Put("nodes/old", R"({"node_id":"old","url":"http://o","state":"up"})").ok());
  registry_ = Open();
  ASSERT_EQ(registry_->List().size(), 1u);
  EXPECT_EQ(registry_->Authenticate("old", "anything").code(), Code::kNotFound);
  Result<std::string> secret = registry_->Admit({"old", "http://o", {}, {}});
  ASSERT_TRUE(secret.ok());
  EXPECT_TRUE(registry_->Authenticate("old", *secret).ok());
  EXPECT_EQ(registry_->Admit({"old", "http://o", {}, {}}).status().code(), Code::kAlreadyExists);
}

TEST_F(NodeRegistryTest, PairTokenDigestsMatchWhatTheSenderDerives) {
  Result<std::string> a = registry_->Admit({"a", "http://a", {}, {}});
  ASSERT_TRUE(a.ok());
  std::optional<std::string> d = registry_->PairTokenDigest("a", "b");
  ASSERT_TRUE(d);
  EXPECT_TRUE(MatchesDigest(PairToken(DataplaneKey(*a), "b"), *d));
  EXPECT_FALSE(MatchesDigest(PairToken(DataplaneKey(*a), "c"), *d));
  EXPECT_FALSE(MatchesDigest(*a, *d));
  EXPECT_FALSE(registry_->PairTokenDigest("b", "a"));
}

// A replica's part in an election, set by hand.
class HandLeadership final : public Leadership {
 public:
  explicit HandLeadership(std::string id) : id_(std::move(id)) {}
  std::optional<Fence> Term() const override { return term_; }
  void Lost(const Fence&) override { term_.reset(); }
  void Resign() override { term_.reset(); }
  const std::string& replica_id() const override { return id_; }
  const std::string& backend() const override { return backend_; }
  std::optional<Fence> term_;

 private:
  std::string id_;
  std::string backend_ = "memory";
};

// A leader ("a", in its term) and a follower ("b") over one store.
struct Replicas {
  explicit Replicas(Store& store) : lead_store(store, lead), follow_store(store, follow) {
    lead.term_ = Fence{"meta/leader", *store.Put("meta/leader", "a")};
  }
  HandLeadership lead{"a"}, follow{"b"};
  FencedStore lead_store, follow_store;
};

// Two replicas over one store: the follower hears the node, the leader
// sweeps it, and learns of its beats through seen/<id>.
TEST_F(NodeRegistryTest, OnlyTheLeaderSweepsAndHearsBeatsThroughTheStore) {
  Replicas r(*store_);
  auto leader = Open(nullptr, &r.lead_store, seconds(9));
  auto follower = Open(nullptr, &r.follow_store, seconds(9));
  ASSERT_TRUE(follower->Admit({"n1", "http://a", {}, {}}).ok());
  leader->Sweep();  // the term's start: n1 is loaded, with grace
  ASSERT_TRUE(leader->Has("n1"));
  for (int i = 0; i < 6; ++i) {  // 18 s of beats, all to the follower
    clock_.Advance(seconds(3));
    ASSERT_TRUE(follower->Beat({"n1", {}, {}, 0}).ok());
    follower->Sweep();  // a follower never sweeps
    leader->Sweep();
  }
  EXPECT_EQ(leader->Count().up, 1);
  clock_.Advance(seconds(9));
  follower->Sweep();
  EXPECT_EQ(follower->Count().up, 1);
  leader->Sweep();
  EXPECT_EQ(leader->Count().down, 1);
  // Beats through the follower bring it back up at the leader.
  ASSERT_TRUE(follower->Beat({"n1", {}, {}, 0}).ok());
  leader->Sweep();
  EXPECT_EQ(leader->Count().up, 1);
  EXPECT_EQ(EventTypes(), (std::vector<std::string>{"node_registered", "node_down", "node_up"}));

  // A leader whose term is over writes nothing: its sweep does nothing.
  r.lead.term_.reset();
  clock_.Advance(seconds(30));
  leader->Sweep();
  EXPECT_EQ(leader->Count().up, 1);
}

// A node beats to one replica; the others' gateways learn where its
// functions are ready from seen/<id>, which is rewritten when the ready
// map changes, whichever replica hears it.
TEST_F(NodeRegistryTest, EveryReplicaLearnsTheReadyMapsOfNodesItDoesNotHear) {
  Replicas r(*store_);
  auto leader = Open(nullptr, &r.lead_store, seconds(9));
  auto follower = Open(nullptr, &r.follow_store, seconds(9));
  ASSERT_TRUE(follower->Admit({"n1", "http://a", {}, {}}).ok());
  ASSERT_TRUE(leader->Admit({"n2", "http://b", {}, {}}).ok());
  leader->Sweep();
  follower->Sweep();

  // n1 beats to the follower, n2 to the leader.
  clock_.Advance(seconds(1));
  ASSERT_TRUE(follower->Beat({"n1", {}, {{"f", "s1"}}, 0}).ok());
  ASSERT_TRUE(leader->Beat({"n2", {}, {{"g", "s2"}}, 0}).ok());
  EXPECT_FALSE(leader->Pick("f", "s1"));
  leader->Sweep();
  follower->Sweep();
  ASSERT_TRUE(leader->Pick("f", "s1"));
  EXPECT_EQ(leader->Pick("f", "s1")->node_id, "n1");
  ASSERT_TRUE(follower->Pick("g", "s2"));
  EXPECT_EQ(follower->Pick("g", "s2")->node_id, "n2");

  // A redeploy moves the ready map: relayed at once, not after a timeout.
  clock_.Advance(seconds(1));
  ASSERT_TRUE(follower->Beat({"n1", {}, {{"f", "s3"}}, 0}).ok());
  leader->Sweep();
  EXPECT_FALSE(leader->Pick("f", "s1"));
  EXPECT_TRUE(leader->Pick("f", "s3"));

  // The replica that hears a node keeps its own, newer view.
  ASSERT_TRUE(leader->Beat({"n1", {}, {{"f", "s4"}}, 0}).ok());
  ASSERT_TRUE(store_->Put("seen/n1", R"({"ready":{"f":"stale"}})").ok());
  leader->Sweep();
  EXPECT_TRUE(leader->Pick("f", "s4"));
  EXPECT_FALSE(leader->Pick("f", "stale"));
  // An unreadable record changes no ready map.
  ASSERT_TRUE(store_->Put("seen/n2", "not json").ok());
  follower->Sweep();
  EXPECT_TRUE(follower->Pick("g", "s2"));
}

// The leader's up/down decisions reach every replica for the nodes it does
// not hear itself: a follower's gateway no longer sends requests to a node
// the leader marked down (it did until node_timeout... never: a follower
// does not sweep), and takes it back, ready map included, when it returns.
TEST_F(NodeRegistryTest, FollowersTakeTheLeadersUpAndDownForNodesTheyDoNotHear) {
  Replicas r(*store_);
  auto leader = Open(nullptr, &r.lead_store, seconds(9));
  auto follower = Open(nullptr, &r.follow_store, seconds(9));
  ASSERT_TRUE(leader->Admit({"n1", "http://a", {}, {}}).ok());
  ASSERT_TRUE(leader->Admit({"n2", "http://b", {}, {}}).ok());
  leader->Sweep();
  follower->Sweep();
  clock_.Advance(seconds(1));
  ASSERT_TRUE(leader->Beat({"n1", {}, {{"f", "s1"}}, 0}).ok());
  ASSERT_TRUE(leader->Beat({"n2", {}, {{"f", "s1"}}, 0}).ok());
  follower->Sweep();
  auto picks = [&](NodeRegistry& reg) {
    std::set<std::string> ids;
    for (int i = 0; i < 20; ++i) {
      if (auto p = reg.Pick("f", "s1")) {
        ids.insert(p->node_id);
        reg.Release(p->node_id);
      }
    }
    return ids;
  };
  EXPECT_EQ(picks(*follower), (std::set<std::string>{"n1", "n2"}));

  // n1 falls silent; n2 beats on, to the leader only.
  for (int i = 0; i < 4; ++i) {
    clock_.Advance(seconds(3));
    ASSERT_TRUE(leader->Beat({"n2", {}, {{"f", "s1"}}, 0}).ok());
    leader->Sweep();
    follower->Sweep();
  }
  EXPECT_EQ(leader->Count().down, 1);
  EXPECT_EQ(follower->Count().down, 1);
  EXPECT_EQ(picks(*follower), (std::set<std::string>{"n2"}));

  // n1 is back, beating to the leader: up at the follower too, and ready.
  ASSERT_TRUE(leader->Beat({"n1", {}, {{"f", "s1"}}, 0}).ok());
  follower->Sweep();
  EXPECT_EQ(follower->Count().up, 2);
  EXPECT_EQ(picks(*follower), (std::set<std::string>{"n1", "n2"}));

  // A follower that hears a node itself keeps its own view of it.
  ASSERT_TRUE(follower->Beat({"n2", {}, {{"f", "s1"}}, 0}).ok());
  auto row = store_->Get("nodes/n2");
  ASSERT_TRUE(row.ok() && row->has_value());
  std::string down = (*row)->value;
  size_t at = down.find(R"("state":"up")");
  ASSERT_NE(at, std::string::npos) << down;
  down.replace(at, 12, R"("state":"down")");
  ASSERT_TRUE(store_->Put("nodes/n2", down).ok());
  ASSERT_TRUE(store_->Put("meta/nodes", "").ok());
  follower->Sweep();
  EXPECT_EQ(follower->Count().up, 2);
}

// A follower that becomes leader gives every node a node_timeout to reach
// it, although it took them from the store long ago and they beat only to
// the old leader (which relays nothing).
// A replica that cannot read the store does not call a node it has not
// seen yet unknown (404 makes the engine join again as a new node): it
// says the store is unavailable, and knows the node once it can read.
TEST_F(NodeRegistryTest, ANodeIsNotUnknownWhileTheStoreCannotBeRead) {
  OutageStore other_store(*store_);
  auto other = Open(&other_store);
  // n1 joins through this replica after the other one started.
  Result<std::string> secret = registry_->Admit({"n1", "http://a", {}, {}});
  ASSERT_TRUE(secret.ok());
  other_store.Down(true);
  EXPECT_EQ(other->Authenticate("n1", *secret).code(), Code::kUnavailable);
  EXPECT_EQ(other->Beat({"n1", {}, {}, 0}).code(), Code::kUnavailable);
  EXPECT_EQ(other->Register({"n1", "http://a", {}, {}}).code(), Code::kUnavailable);
  EXPECT_EQ(other->Admit({"n1", "http://a", {}, {}}).status().code(), Code::kUnavailable);
  other_store.Down(false);
  EXPECT_TRUE(other->Authenticate("n1", *secret).ok());
  EXPECT_TRUE(other->Beat({"n1", {}, {}, 0}).ok());
  EXPECT_EQ(other->Authenticate("n2", *secret).code(), Code::kNotFound);
}

// Any request can name a node id; one memory does not know costs a store
// read (on an HTTP IO thread). A flood of made-up ids gets 503s, not a
// store read each; the next second has a new budget.
TEST_F(NodeRegistryTest, LookupsOfUnknownNodesAreBounded) {
  int unavailable = 0, not_found = 0;
  for (int i = 0; i < 200; ++i) {
    Code c = registry_->Authenticate("ghost-" + std::to_string(i), "secret").code();
    unavailable += c == Code::kUnavailable;
    not_found += c == Code::kNotFound;
  }
  EXPECT_EQ(not_found, 50);
  EXPECT_EQ(unavailable, 150);
  clock_.Advance(seconds(1));
  EXPECT_EQ(registry_->Authenticate("ghost-x", "secret").code(), Code::kNotFound);
}

TEST_F(NodeRegistryTest, ANewLeaderGivesEveryNodeGrace) {
  HandLeadership a("a"), b("b");
  a.term_ = Fence{"meta/leader", *store_->Put("meta/leader", "a")};
  FencedStore a_store(*store_, a), b_store(*store_, b);
  auto open = [&](FencedStore& fenced) { return Open(nullptr, &fenced, seconds(9)); };
  auto first = open(a_store);
  auto second = open(b_store);
  ASSERT_TRUE(first->Admit({"n1", "http://a", {}, {}}).ok());
  second->Sweep();  // takes n1 from the store
  ASSERT_TRUE(second->Has("n1"));
  for (int i = 0; i < 6; ++i) {  // 18 s of beats, all to the leader
    clock_.Advance(seconds(3));
    ASSERT_TRUE(first->Beat({"n1", {}, {}, 0}).ok());
    first->Sweep();
    second->Sweep();
  }
  a.term_.reset();
  b.term_ = Fence{"meta/leader", *store_->Put("meta/leader", "b")};
  second->Sweep();
  EXPECT_EQ(second->Count().up, 1);
  clock_.Advance(seconds(9));  // and then no beat reached it
  second->Sweep();
  EXPECT_EQ(second->Count().down, 1);
}

// Two replicas on one store: a node's identity (joined, joined again with
// a new credential, removed) made through one is honoured by the other —
// at once where the other would refuse, within a sweep for a removal.
TEST_F(NodeRegistryTest, ReplicasShareNodeIdentityThroughTheStore) {
  std::unique_ptr<NodeRegistry> other = Open();  // a replica started before the join
  Result<std::string> secret = registry_->Admit({"n1", "http://a", {}, {}});
  ASSERT_TRUE(secret.ok());
  EXPECT_TRUE(other->Authenticate("n1", *secret).ok());
  EXPECT_TRUE(other->Has("n1"));
  EXPECT_TRUE(other->Beat({"n1", {}, {}, 0}).ok());
  // The join token cannot take it over through the other replica either.
  EXPECT_EQ(other->Admit({"n1", "http://evil", {}, {}}).status().code(), Code::kAlreadyExists);
  EXPECT_EQ(other->Authenticate("n1", "wrong").code(), Code::kPermissionDenied);

  // Removed through one: refused by the other after its next sweep.
  ASSERT_TRUE(registry_->Remove("n1", "admin").ok());
  other->Sweep();
  EXPECT_EQ(other->Authenticate("n1", *secret).code(), Code::kPermissionDenied);
  EXPECT_FALSE(other->Has("n1"));

  // Admitted again through the other: the new credential works on both,
  // the old one on neither.
  Result<std::string> again = other->Admit({"n1", "http://a2", {}, {}});
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_TRUE(registry_->Authenticate("n1", *again).ok());
  EXPECT_EQ(registry_->Authenticate("n1", *secret).code(), Code::kPermissionDenied);
  EXPECT_EQ(other->Authenticate("n1", *secret).code(), Code::kPermissionDenied);
  ASSERT_TRUE(registry_->PairTokenDigest("n1", "n2").has_value());
  EXPECT_EQ(*registry_->PairTokenDigest("n1", "n2"), *other->PairTokenDigest("n1", "n2"));
}

TEST_F(NodeRegistryTest, SchedulingIsAnOperatorsAndOutlivesRegistrationsRestartsAndReplicas) {
  std::unique_ptr<NodeRegistry> other = Open();
  ASSERT_TRUE(registry_->Admit({"n1", "http://a", {}, {}}).ok());
  ASSERT_TRUE(registry_->Admit({"n2", "http://b", {}, {}}).ok());
  ASSERT_TRUE(Beat("n1", {{"f", "s1"}}).ok());
  ASSERT_TRUE(Beat("n2", {{"f", "s1"}}).ok());
  EXPECT_EQ(registry_->List()[0].scheduling, "active");
  ASSERT_TRUE(registry_->SetScheduling("n1", kSchedulingCordoned, "admin").ok());
  ASSERT_TRUE(registry_->SetScheduling("n1", kSchedulingCordoned, "admin").ok());  // no change
  EXPECT_EQ(registry_->SetScheduling("nope", kSchedulingCordoned, "admin").code(), Code::kNotFound);
  EXPECT_EQ(registry_->SetScheduling("n1", "paused", "admin").code(), Code::kInvalidArgument);
  // The node registering again does not undo it.
  ASSERT_TRUE(registry_->Register({"n1", "http://a2", {}, {}}).ok());
  EXPECT_EQ(registry_->List()[0].scheduling, "cordoned");
  ASSERT_TRUE(Beat("n1", {{"f", "s1"}}).ok());
  // Nor does a restart; another replica takes it at its next sweep.
  EXPECT_EQ(Open()->List()[0].scheduling, "cordoned");
  other->Sweep();
  EXPECT_EQ(other->List()[0].scheduling, "cordoned");

  // Draining: the gateway picks it only when no other node has the function.
  ASSERT_TRUE(registry_->SetScheduling("n1", kSchedulingDraining, "admin").ok());
  for (int i = 0; i < 4; ++i) {
    std::optional<NodePick> p = registry_->Pick("f", "s1");
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(p->node_id, "n2");
    registry_->Release(p->node_id);
  }
  std::optional<NodePick> only = registry_->Pick("f", "s1", {"n2"});
  ASSERT_TRUE(only.has_value());
  EXPECT_EQ(only->node_id, "n1");
  registry_->Release("n1");
  ASSERT_TRUE(registry_->SetScheduling("n1", kSchedulingActive, "admin").ok());
  std::vector<std::string> types = EventTypes();
  EXPECT_EQ(std::count(types.begin(), types.end(), "node_cordoned"), 1);
  EXPECT_EQ(std::count(types.begin(), types.end(), "node_draining"), 1);
  EXPECT_EQ(std::count(types.begin(), types.end(), "node_uncordoned"), 1);
  // Admitted again after a removal: a new node, active.
  ASSERT_TRUE(registry_->SetScheduling("n1", kSchedulingCordoned, "admin").ok());
  ASSERT_TRUE(registry_->Remove("n1", "admin").ok());
  ASSERT_TRUE(registry_->Admit({"n1", "http://a3", {}, {}}).ok());
  EXPECT_EQ(registry_->List()[0].scheduling, "active");
}

// A sweep that finds nothing changed reads one key, not every node.
TEST_F(NodeRegistryTest, ASweepWithNothingChangedKeepsMemory) {
  Result<std::string> secret = registry_->Admit({"n1", "http://a", {}, {}});
  ASSERT_TRUE(secret.ok());
  registry_->Sweep();
  registry_->Sweep();
  EXPECT_TRUE(registry_->Authenticate("n1", *secret).ok());
  EXPECT_EQ(registry_->Count().up, 1);
}

}  // namespace
}  // namespace aether::control
