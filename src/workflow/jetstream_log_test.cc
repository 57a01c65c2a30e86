// The JetStream event log against a real nats-server: what each event
// goes through (append, fetch, ack, redelivery, nak, term, progress,
// dedup) and how streams and consumers are shared and kept.
// jetstream_fault_test.cc has outages, Close, credentials and bad input.
#include "workflow/jetstream_log.h"

#include <set>
#include <thread>

#include "workflow/jetstream_test_util.h"

namespace aether::workflow::testing {
namespace {

TEST_F(JetStreamTest, AppendFetchAck) {
  auto log = Connect();
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->EnsureWorkflow("wf").ok());
  for (std::string id : {"e1", "e2", "e3"}) {
    ASSERT_TRUE(Append(*log, "wf", "sink", id, "payload-" + id).ok());
  }
  EXPECT_EQ(Look("aether_wf_wf").messages, 3u);

  auto sub = Subscribe(*log, "wf", "sink");
  ASSERT_NE(sub, nullptr);
  Deliveries got = FetchN(*sub, 3);
  ASSERT_EQ(Ids(got), (std::vector<std::string>{"e1", "e2", "e3"}));
  EXPECT_EQ(got[0]->event().source, "src");
  EXPECT_EQ(got[0]->event().payload, "payload-e1");
  EXPECT_EQ(got[2]->event().payload, "payload-e3");
  for (auto& d : got) {
    EXPECT_EQ(d->attempt(), 1u);
    EXPECT_TRUE(d->Ack().ok());
  }
  // Settled once only.
  Status again = got[0]->Nak(0ms);
  EXPECT_EQ(again.code(), Code::kFailedPrecondition) << again.ToString();
  EXPECT_EQ(got[0]->Progress().code(), Code::kFailedPrecondition);

  // Acknowledged events leave the stream (WorkQueue) and never come back,
  // not even after the ack wait.
  EXPECT_TRUE(Eventually([&] { return Look("aether_wf_wf").messages == 0; }));
  auto none = sub->Fetch(10, 1500ms);
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_TRUE(none->empty());
}

TEST_F(JetStreamTest, BinaryPayloadAndEmptySourceRoundTrip) {
  auto log = Connect();
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->EnsureWorkflow("wf").ok());
  std::string payload("\0\r\nPUB x 1\r\n\xff", 13);
  ASSERT_TRUE(
      log->Append("wf", "sink", LogEvent{"bin", "", payload}, std::chrono::steady_clock::now() + 5s)
          .ok());
  auto sub = Subscribe(*log, "wf", "sink");
  ASSERT_NE(sub, nullptr);
  Deliveries got = FetchN(*sub, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0]->event().payload, payload);
  EXPECT_EQ(got[0]->event().source, "");
  EXPECT_TRUE(got[0]->Ack().ok());
}

TEST_F(JetStreamTest, EventsPublishedByOthersGetIdsAndSourcesWeWouldWrite) {
  auto log = Connect();
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->EnsureWorkflow("wf").ok());
  // Straight onto the subject, as `nats pub` would: no id, then a hostile
  // id and source (too long, separators, a line break).
  WithJetStream([&](jsCtx* js) {
    ASSERT_EQ(js_Publish(nullptr, js, "aether.wf.wf.sink", "plain", 5, nullptr, nullptr), NATS_OK);
    natsMsg* msg = nullptr;
    ASSERT_EQ(natsMsg_Create(&msg, "aether.wf.wf.sink", nullptr, "odd", 3), NATS_OK);
    std::string long_id(300, 'x');
    long_id += ".*>";
    ASSERT_EQ(natsMsgHeader_Set(msg, "Nats-Msg-Id", long_id.c_str()), NATS_OK);
    ASSERT_EQ(natsMsgHeader_Set(msg, "Aether-Source", "a.b *>"), NATS_OK);
    ASSERT_EQ(js_PublishMsg(nullptr, js, msg, nullptr, nullptr), NATS_OK);
    natsMsg_Destroy(msg);
  });
  auto sub = Subscribe(*log, "wf", "sink");
  ASSERT_NE(sub, nullptr);
  Deliveries got = FetchN(*sub, 2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0]->event().payload, "plain");
  EXPECT_EQ(got[1]->event().payload, "odd");
  EXPECT_TRUE(got[0]->event().id.starts_with("seq-")) << got[0]->event().id;
  EXPECT_TRUE(got[1]->event().id.starts_with("seq-")) << got[1]->event().id;
  EXPECT_NE(got[0]->event().id, got[1]->event().id);
  EXPECT_EQ(got[1]->event().source, "");
  // The ids are ones we would write: a handler's casts can derive from them.
  EXPECT_TRUE(Append(*log, "wf", "sink", got[1]->event().id, "again").ok());
  for (auto& d : got) EXPECT_TRUE(d->Ack().ok());
}

TEST_F(JetStreamTest, AnUnackedEventComesBackAfterTheAckWait) {
  auto log = Connect();  // ack_wait 1 s
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->EnsureWorkflow("wf").ok());
  ASSERT_TRUE(Append(*log, "wf", "sink", "lost").ok());
  auto sub = Subscribe(*log, "wf", "sink");
  ASSERT_NE(sub, nullptr);
  {
    Deliveries first = FetchN(*sub, 1);
    ASSERT_EQ(Ids(first), std::vector<std::string>{"lost"});
    EXPECT_EQ(first[0]->attempt(), 1u);
    // Dropped unsettled: its instance died.
  }
  Deliveries second = FetchN(*sub, 1);
  ASSERT_EQ(Ids(second), std::vector<std::string>{"lost"});
  // 2 as a rule; nats-server 2.9.10 was seen once (sanitizer build, load
  // ~8) to number this redelivery 1 — its delivery counts are not exact
  // under load (see also nats-server#5305), and nothing here relies on them
  // beyond giving up after max_deliver.
  EXPECT_GE(second[0]->attempt(), 1u);
  EXPECT_TRUE(second[0]->Ack().ok());
}

TEST_F(JetStreamTest, NakDeliversAgainAfterItsDelay) {
  auto log = Connect();
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->EnsureWorkflow("wf").ok());
  ASSERT_TRUE(Append(*log, "wf", "sink", "retry").ok());
  auto sub = Subscribe(*log, "wf", "sink");
  ASSERT_NE(sub, nullptr);

  Deliveries got = FetchN(*sub, 1);
  ASSERT_EQ(got.size(), 1u);
  ASSERT_TRUE(got[0]->Nak(0ms).ok());  // at once
  got = FetchN(*sub, 1);
  ASSERT_EQ(Ids(got), std::vector<std::string>{"retry"});
  EXPECT_EQ(got[0]->attempt(), 2u);

  ASSERT_TRUE(got[0]->Nak(4s).ok());
  // Not before its delay (a poll right after the nak finds nothing)...
  auto early = sub->Fetch(1, 0ms);
  ASSERT_TRUE(early.ok()) << early.status().ToString();
  EXPECT_TRUE(early->empty());
  // ... but after it. nats-server 2.9 sometimes counts a delayed
  // redelivery as a first delivery (fixed in 2.10 by nats-io/nats-server
  // #5305, "delivery count going backwards"); seen here ~1 run in 5.
  got = FetchN(*sub, 1, 15s);
  ASSERT_EQ(Ids(got), std::vector<std::string>{"retry"});
  EXPECT_TRUE(got[0]->attempt() == 3u || got[0]->attempt() == 1u) << got[0]->attempt();
  EXPECT_TRUE(got[0]->Ack().ok());
}

TEST_F(JetStreamTest, TermNeverDeliversAgain) {
  auto log = Connect();
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->EnsureWorkflow("wf").ok());
  ASSERT_TRUE(Append(*log, "wf", "sink", "poison").ok());
  ASSERT_TRUE(Append(*log, "wf", "sink", "fine").ok());
  auto sub = Subscribe(*log, "wf", "sink");
  ASSERT_NE(sub, nullptr);
  Deliveries got = FetchN(*sub, 2);
  ASSERT_EQ(Ids(got), (std::vector<std::string>{"poison", "fine"}));
  EXPECT_TRUE(got[0]->Term().ok());
  EXPECT_EQ(got[0]->Ack().code(), Code::kFailedPrecondition);
  // "fine" is left unsettled: it comes back after the ack wait, "poison"
  // does not.
  got.clear();
  Deliveries again = FetchN(*sub, 1);
  ASSERT_EQ(Ids(again), std::vector<std::string>{"fine"});
  EXPECT_TRUE(again[0]->Ack().ok());
  auto none = sub->Fetch(10, 2500ms);  // more than two ack waits
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty()) << Ids(*none).front();
}

TEST_F(JetStreamTest, ProgressKeepsAnEventFromOthers) {
  JetStreamOptions o = Options();
  o.ack_wait = 2s;
  auto log = Connect(o);
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->EnsureWorkflow("wf").ok());
  ASSERT_TRUE(Append(*log, "wf", "sink", "slow").ok());
  auto busy = Subscribe(*log, "wf", "sink");
  auto other = Subscribe(*log, "wf", "sink");
  ASSERT_NE(busy, nullptr);
  ASSERT_NE(other, nullptr);
  Deliveries got = FetchN(*busy, 1);
  ASSERT_EQ(got.size(), 1u);

  // For three ack waits, the other subscription polls in 250 ms steps and
  // the busy one reports progress after each: the event stays where it is.
  auto until = std::chrono::steady_clock::now() + 6s;
  while (std::chrono::steady_clock::now() < until) {
    auto stolen = other->Fetch(1, 250ms);
    ASSERT_TRUE(stolen.ok()) << stolen.status().ToString();
    ASSERT_TRUE(stolen->empty()) << "redelivered despite Progress";
    ASSERT_TRUE(got[0]->Progress().ok());
  }
  EXPECT_TRUE(got[0]->Ack().ok());
  auto none = other->Fetch(1, 2500ms);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_F(JetStreamTest, TheSameIdIsStoredOnce) {
  auto log = Connect();
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->EnsureWorkflow("wf").ok());
  ASSERT_TRUE(Append(*log, "wf", "sink", "once", "first").ok());
  ASSERT_TRUE(Append(*log, "wf", "sink", "once", "second").ok());  // acknowledged
  ASSERT_TRUE(Append(*log, "wf", "sink", "other").ok());
  EXPECT_EQ(Look("aether_wf_wf").messages, 2u);
  auto sub = Subscribe(*log, "wf", "sink");
  ASSERT_NE(sub, nullptr);
  Deliveries got = FetchN(*sub, 2);
  ASSERT_EQ(Ids(got), (std::vector<std::string>{"once", "other"}));
  EXPECT_EQ(got[0]->event().payload, "first");
}

TEST_F(JetStreamTest, SubscriptionsOfOneComponentShareItsEvents) {
  auto log = Connect();
  auto other_node = Connect();  // another engine, its own connection
  ASSERT_NE(log, nullptr);
  ASSERT_NE(other_node, nullptr);
  ASSERT_TRUE(log->EnsureWorkflow("wf").ok());
  for (int i = 0; i < 20; ++i)
    ASSERT_TRUE(Append(*log, "wf", "sink", "e" + std::to_string(i)).ok());
  auto a = Subscribe(*log, "wf", "sink");
  auto b = Subscribe(*other_node, "wf", "sink");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);

  Deliveries from_a = FetchN(*a, 5);
  Deliveries from_b = FetchN(*b, 15);
  EXPECT_EQ(from_a.size(), 5u);
  EXPECT_EQ(from_b.size(), 15u);
  std::set<std::string> seen;
  for (const Deliveries* ds : {&from_a, &from_b}) {
    for (const auto& d : *ds) {
      EXPECT_TRUE(seen.insert(d->event().id).second) << d->event().id << " went to both";
      EXPECT_TRUE(d->Ack().ok());
    }
  }
  EXPECT_EQ(seen.size(), 20u);
}

TEST_F(JetStreamTest, ComponentsDoNotSeeEachOthersEvents) {
  auto log = Connect();
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->EnsureWorkflow("wf").ok());
  ASSERT_TRUE(Append(*log, "wf", "left", "l1").ok());
  ASSERT_TRUE(Append(*log, "wf", "right", "r1").ok());
  ASSERT_TRUE(Append(*log, "wf", "left", "l2").ok());
  auto left = Subscribe(*log, "wf", "left");
  auto right = Subscribe(*log, "wf", "right");
  ASSERT_NE(left, nullptr);
  ASSERT_NE(right, nullptr);
  auto l = left->Fetch(10, 2s);
  auto r = right->Fetch(10, 2s);
  ASSERT_TRUE(l.ok() && r.ok());
  EXPECT_EQ(Ids(*l), (std::vector<std::string>{"l1", "l2"}));
  EXPECT_EQ(Ids(*r), std::vector<std::string>{"r1"});
}

TEST_F(JetStreamTest, AFullStreamRefusesAppends) {
  JetStreamOptions o = Options();
  o.max_bytes = 4096;
  auto log = Connect(o);
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->EnsureWorkflow("wf").ok());
  std::string kb(1000, 'x');
  Status s;
  int stored = 0;
  for (; stored < 20; ++stored) {
    s = Append(*log, "wf", "sink", "big" + std::to_string(stored), kb);
    if (!s.ok()) break;
  }
  EXPECT_EQ(s.code(), Code::kResourceExhausted) << s.ToString();
  EXPECT_GT(stored, 0);
  EXPECT_LT(stored, 5);
  // Taking events out makes room again.
  auto sub = Subscribe(*log, "wf", "sink");
  ASSERT_NE(sub, nullptr);
  for (auto& d : FetchN(*sub, static_cast<size_t>(stored))) EXPECT_TRUE(d->Ack().ok());
  EXPECT_TRUE(Eventually([&] { return Append(*log, "wf", "sink", "after", kb).ok(); }));
}

TEST_F(JetStreamTest, WithoutEnsureWorkflowThereIsNoStream) {
  auto log = Connect();
  ASSERT_NE(log, nullptr);
  Status s = Append(*log, "nowf", "sink", "e1");
  EXPECT_EQ(s.code(), Code::kNotFound) << s.ToString();
  auto sub = log->Subscribe("nowf", "sink");
  EXPECT_EQ(sub.status().code(), Code::kNotFound) << sub.status().ToString();
  EXPECT_TRUE(log->DropWorkflow("nowf").ok());  // nothing to drop is fine
}

TEST_F(JetStreamTest, DropWorkflowRemovesItsEvents) {
  auto log = Connect();
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->EnsureWorkflow("wf").ok());
  ASSERT_TRUE(Append(*log, "wf", "sink", "e1").ok());
  ASSERT_TRUE(log->DropWorkflow("wf").ok());
  EXPECT_FALSE(Look("aether_wf_wf").stream_exists);
  EXPECT_EQ(Append(*log, "wf", "sink", "e2").code(), Code::kNotFound);
  ASSERT_TRUE(log->EnsureWorkflow("wf").ok());
  auto sub = Subscribe(*log, "wf", "sink");
  ASSERT_NE(sub, nullptr);
  auto none = sub->Fetch(10, 300ms);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_F(JetStreamTest, EnsureWorkflowAgainKeepsTheEvents) {
  auto log = Connect();
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->EnsureWorkflow("wf").ok());
  ASSERT_TRUE(Append(*log, "wf", "sink", "kept").ok());
  ASSERT_TRUE(log->EnsureWorkflow("wf").ok());
  // Another node with other limits: the stream and consumer are kept
  // (their limits updated).
  JetStreamOptions o = Options();
  o.max_age = 1h;
  o.ack_wait = 3s;
  auto other = Connect(o);
  ASSERT_NE(other, nullptr);
  ASSERT_TRUE(other->EnsureWorkflow("wf").ok());
  auto first = Subscribe(*log, "wf", "sink");
  ASSERT_NE(first, nullptr);
  auto second = Subscribe(*other, "wf", "sink");
  ASSERT_NE(second, nullptr);
  Deliveries got = FetchN(*second, 1);
  ASSERT_EQ(Ids(got), std::vector<std::string>{"kept"});
  EXPECT_TRUE(got[0]->Ack().ok());
  EXPECT_EQ(Look("aether_wf_wf").messages, 0u);
}

TEST_F(JetStreamTest, FetchRespectsMaxAndWait) {
  auto log = Connect();
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->EnsureWorkflow("wf").ok());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Append(*log, "wf", "sink", "e" + std::to_string(i)).ok());
  auto sub = Subscribe(*log, "wf", "sink");
  ASSERT_NE(sub, nullptr);
  auto two = sub->Fetch(2, 2s);
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(Ids(*two), (std::vector<std::string>{"e0", "e1"}));
  // Fewer than max are there: they come without waiting out `wait`.
  auto start = std::chrono::steady_clock::now();
  auto rest = sub->Fetch(10, 20s);
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(Ids(*rest), (std::vector<std::string>{"e2", "e3", "e4"}));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  for (const Deliveries* ds : {&*two, &*rest}) {
    for (const auto& d : *ds) EXPECT_TRUE(d->Ack().ok());
  }
  // None there: it waits `wait` (at least), then answers empty.
  start = std::chrono::steady_clock::now();
  auto none = sub->Fetch(10, 700ms);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  EXPECT_GE(std::chrono::steady_clock::now() - start, 650ms);
  // One arriving while it waits ends the wait.
  std::thread late([&] {
    EXPECT_TRUE(Eventually([&] { return Look("aether_wf_wf", "sink").waiting_pulls > 0; }));
    EXPECT_TRUE(Append(*log, "wf", "sink", "late").ok());
  });
  start = std::chrono::steady_clock::now();
  Deliveries got;
  while (got.empty() && std::chrono::steady_clock::now() - start < 20s) {
    auto r = sub->Fetch(10, 30s);
    ASSERT_TRUE(r.ok());
    got = std::move(*r);
  }
  late.join();
  EXPECT_EQ(Ids(got), std::vector<std::string>{"late"});
  EXPECT_LT(std::chrono::steady_clock::now() - start, 20s);
  EXPECT_EQ(sub->Fetch(0, 1s).status().code(), Code::kInvalidArgument);
}

TEST_F(JetStreamTest, DeliveriesOutliveTheirSubscriptionAndLog) {
  auto log = Connect();
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->EnsureWorkflow("wf").ok());
  ASSERT_TRUE(Append(*log, "wf", "sink", "e1").ok());
  Deliveries got;
  {
    auto sub = Subscribe(*log, "wf", "sink");
    ASSERT_NE(sub, nullptr);
    got = FetchN(*sub, 1);
    sub->Close();
  }
  log.reset();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0]->Ack().ok());
  EXPECT_TRUE(Eventually([&] { return Look("aether_wf_wf").messages == 0; }));
}

}  // namespace
}  // namespace aether::workflow::testing
