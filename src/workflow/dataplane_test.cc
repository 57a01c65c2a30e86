// Two "engines" in one process: each an HttpServer on 127.0.0.1:0 with the
// dataplane routes over a FakeHost, talking over real HTTP.
#include "workflow/dataplane.h"

#include <gtest/gtest.h>

#include <future>

#include "common/node_credential.h"
#include "common/testing/eventually.h"
#include "common/testing/http_fetch.h"
#include "workflow/dataplane_codec.h"
#include "workflow/dataplane_test_node.h"
#include "workflow/dataplane_testing.h"

namespace aether::workflow {
namespace {

using std::chrono::milliseconds;
using testing::FakeHost;
using testing::GrantFor;

using Node = testing::TestNode;
using testing::kInstances;

// Counters are updated after the peer answers: wait for them.
using aether::testing::Eventually;

Result<CallReply> CallAndWait(Dataplane& dp, const OutputTarget& t, std::string_view payload,
                              milliseconds timeout = milliseconds(2000)) {
  std::promise<Result<CallReply>> p;
  auto f = p.get_future();
  dp.Call(t, "caller", payload, timeout, [&p](Result<CallReply> r) { p.set_value(std::move(r)); });
  return f.get();
}

TEST(DataplaneTest, CastsArriveInOrderAcrossHttp) {
  Node a, b;
  b.Trust({&a});
  b.host.AddInstance("wf/sink/0");
  constexpr int kN = 500;
  for (int i = 0; i < kN; ++i) {
    ASSERT_TRUE(
        a.dataplane.Cast(b.Target("wf/sink/0"), "src", "e" + std::to_string(i), kNoWait).ok());
  }
  ASSERT_EQ(b.host.WaitCasts(kN, milliseconds(5000)), static_cast<size_t>(kN));
  auto events = b.host.events();
  for (int i = 0; i < kN; ++i) {
    EXPECT_EQ(events[i].payload, "e" + std::to_string(i));
    EXPECT_EQ(events[i].source, "src");
    EXPECT_EQ(events[i].instance, "wf/sink/0");
  }
  EXPECT_TRUE(Eventually([&] { return a.dataplane.counters().sent == static_cast<uint64_t>(kN); }));
  EXPECT_EQ(b.dataplane.counters().received, static_cast<uint64_t>(kN));
}

TEST(DataplaneTest, BinaryAndLargePayloads) {
  Node a, b;
  b.Trust({&a});
  b.host.AddInstance("wf/sink/0");
  std::string binary("\0\x01\xff\r\n", 5);
  std::string big(kMaxEventPayload, 'z');
  ASSERT_TRUE(a.dataplane.Cast(b.Target("wf/sink/0"), "", binary, kNoWait).ok());
  ASSERT_TRUE(a.dataplane.Cast(b.Target("wf/sink/0"), "s", big, kNoWait).ok());
  EXPECT_EQ(a.dataplane.Cast(b.Target("wf/sink/0"), "s", big + "!", kNoWait).code(),
            Code::kInvalidArgument);
  ASSERT_EQ(b.host.WaitCasts(2, milliseconds(5000)), 2u);
  EXPECT_EQ(b.host.events()[0].payload, binary);
  EXPECT_EQ(b.host.events()[1].payload, big);
}

TEST(DataplaneTest, UnknownInstancesAreDroppedAtThePeer) {
  Node a, b;
  b.Trust({&a});
  b.host.AddInstance("wf/sink/0");
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(a.dataplane.Cast(b.Target("wf/sink/0"), "s", "x", kNoWait).ok());
  }
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(a.dataplane.Cast(b.Target("wf/nobody/0"), "s", "x", kNoWait).ok());
  }
  Eventually(
      [&] { return a.dataplane.counters().sent + a.dataplane.counters().peer_dropped >= 6; });
  EXPECT_EQ(a.dataplane.counters().sent, 3u);
  EXPECT_EQ(a.dataplane.counters().peer_dropped, 3u);
  EXPECT_EQ(b.dataplane.counters().received_dropped, 3u);
  EXPECT_EQ(a.host.dataplane_dropped(), 3);
  EXPECT_NE(b.metrics.Render().find("aether_dataplane_received_dropped_total 3"),
            std::string::npos);
}

TEST(DataplaneTest, AFullMailboxAtThePeerDefersAndTheSenderSendsAgainInOrder) {
  Node a, b;
  b.Trust({&a});
  b.host.AddInstance("wf/sink/0");
  b.host.SetCapacity(3);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(a.dataplane.Cast(b.Target("wf/sink/0"), "s", std::to_string(i), kNoWait).ok());
  }
  // Deferred: the peer takes 3, defers 2 and keeps deferring while full.
  ASSERT_TRUE(Eventually([&] { return a.dataplane.counters().deferred >= 4; }));
  EXPECT_EQ(a.dataplane.counters().sent, 3u);
  EXPECT_EQ(a.dataplane.counters().peer_dropped, 0u);
  EXPECT_EQ(b.dataplane.counters().received_dropped, 0u);
  EXPECT_GE(b.dataplane.counters().received_deferred, 4u);
  EXPECT_EQ(a.host.dataplane_dropped(), 0);
  // Room again: the deferred events arrive, after the first three, in order.
  b.host.SetCapacity(5);
  ASSERT_EQ(b.host.WaitCasts(5, milliseconds(5000)), 5u);
  auto events = b.host.events();
  ASSERT_EQ(events.size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(events[i].payload, std::to_string(i));
  EXPECT_TRUE(Eventually([&] { return a.dataplane.counters().sent == 5u; }));
  EXPECT_NE(a.metrics.Render().find("aether_dataplane_deferred_events_total{side=\"sender\"}"),
            std::string::npos);
}

TEST(DataplaneTest, AFullLinkHoldsTheSenderUntilThePeerTakesItsEvents) {
  // Frames in flight count against the queue: a peer that defers
  // everything does not let the queue grow past queue_length.
  Node a(DataplaneOptions{.queue_length = 4}), b;
  b.Trust({&a});
  b.host.AddInstance("wf/sink/0");
  b.host.SetCapacity(0);
  auto t = b.Target("wf/sink/0");
  for (int i = 0; i < 4; ++i)
    ASSERT_TRUE(a.dataplane.Cast(t, "s", std::to_string(i), kNoWait).ok());
  ASSERT_TRUE(Eventually([&] { return a.dataplane.counters().deferred >= 8; }));
  EXPECT_EQ(a.dataplane.Cast(t, "s", "refused", kNoWait).code(), Code::kResourceExhausted);
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(a.dataplane.Cast(t, "s", "refused", start + milliseconds(100)).code(),
            Code::kResourceExhausted);
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(100));  // it was held
  // Cast counts no refusal: its caller may still wait and retry, or refuse
  // a client (Core::CastFrom counts what is final).
  EXPECT_EQ(a.dataplane.counters().queue_full, 0u);
  EXPECT_EQ(a.host.dataplane_dropped(), 0);
  a.dataplane.CountSendDropped(t);
  EXPECT_EQ(a.dataplane.counters().queue_full, 1u);
  // A held sender gets in once the peer takes the queued events.
  std::promise<Status> held;
  std::thread sender([&] {
    held.set_value(
        a.dataplane.Cast(t, "s", "4", std::chrono::steady_clock::now() + std::chrono::seconds(30)));
  });
  b.host.SetCapacity(100);
  sender.join();
  EXPECT_TRUE(held.get_future().get().ok());
  ASSERT_EQ(b.host.WaitCasts(5, milliseconds(5000)), 5u);
  auto events = b.host.events();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(events[i].payload, std::to_string(i));
}

TEST(DataplaneTest, CallsMapEveryAnswer) {
  Node a, b;
  b.Trust({&a});
  b.host.AddInstance("wf/f/0");
  auto ok = CallAndWait(a.dataplane, b.Target("wf/f/0"), std::string("hi\0there", 8));
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->bytes, std::string("wf/f/0|caller|hi\0there", 22));
  EXPECT_FALSE(ok->none);
  // "No reply" crosses the link as such (an EDGELESS caller tells it from
  // an empty reply), on both ways of calling.
  auto none = CallAndWait(a.dataplane, b.Target("wf/f/0"), "none");
  ASSERT_TRUE(none.ok()) << none.status().message();
  EXPECT_TRUE(none->none);
  EXPECT_EQ(none->bytes, "");
  std::optional<Result<CallReply>> here =
      a.dataplane.CallOnThisThread(b.Target("wf/f/0"), "s", "none", milliseconds(2000));
  ASSERT_TRUE(here && here->ok());
  EXPECT_TRUE((*here)->none);
  // The caller's budget, passed on (less what waiting for a call thread took).
  EXPECT_LE(b.host.last_call_timeout(), milliseconds(2000));
  EXPECT_GT(b.host.last_call_timeout(), milliseconds(1900));

  EXPECT_EQ(CallAndWait(a.dataplane, b.Target("wf/nope/0"), "x").status().code(), Code::kNotFound);
  EXPECT_EQ(CallAndWait(a.dataplane, b.Target("wf/f/0"), "full").status().code(),
            Code::kResourceExhausted);
  auto failed = CallAndWait(a.dataplane, b.Target("wf/f/0"), "fail");
  EXPECT_EQ(failed.status().code(), Code::kInternal);
  EXPECT_NE(failed.status().message().find("unreachable"), std::string::npos)
      << failed.status().message();
  EXPECT_EQ(CallAndWait(a.dataplane, b.Target("wf/f/0"), "gone").status().code(),
            Code::kUnavailable);
  auto slow = CallAndWait(a.dataplane, b.Target("wf/f/0"), "sleep:2000", milliseconds(100));
  EXPECT_EQ(slow.status().code(), Code::kDeadlineExceeded);
  auto slept = CallAndWait(a.dataplane, b.Target("wf/f/0"), "sleep:10", milliseconds(0));
  ASSERT_TRUE(slept.ok()) << slept.status().message();
  EXPECT_EQ(b.host.last_call_timeout(), milliseconds(0)) << "0 = the target's own timeout";

  OutputTarget dead{"wf/f/0", "gone", "http://127.0.0.1:1"};
  EXPECT_EQ(CallAndWait(a.dataplane, dead, "x").status().code(), Code::kUnavailable);
  EXPECT_EQ(a.dataplane.counters().calls_ok, 4u);
  EXPECT_EQ(b.dataplane.counters().calls_received, 9u);
}

// A node keeps the token it sends each peer; a new credential (the control
// plane issued another secret) must not leave the old token in use.
TEST(DataplaneTest, ANewCredentialChangesTheTokenSent) {
  Node a, b;
  b.Trust({&a});
  b.host.AddInstance("wf/f/0");
  for (int i = 0; i < 3; ++i) {
    auto r = CallAndWait(a.dataplane, b.Target("wf/f/0"), "x");
    ASSERT_TRUE(r.ok()) << r.status().message();
  }
  ASSERT_TRUE(a.identity->Set("a-new-secret-0123456789abcdef0123456789").ok());
  // The receiver still knows the old token only: the new one is refused...
  auto refused = CallAndWait(a.dataplane, b.Target("wf/f/0"), "x");
  EXPECT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("refused this node's dataplane token"),
            std::string::npos)
      << refused.status().message();
  // ... until it learns the new one; then calls go through again.
  b.Trust({&a});
  auto r = CallAndWait(a.dataplane, b.Target("wf/f/0"), "x");
  ASSERT_TRUE(r.ok()) << r.status().message();
}

TEST(DataplaneTest, ConcurrentCallsDoNotBlockTheIoThread) {
  // One IO thread at the receiver: calls waiting for their reply must not
  // hold it. Each of the 8 calls is answered only once all 8 are in the
  // host at the same time, so calls handled one after another would time
  // out instead (an outcome, not a stopwatch).
  Node a, b;
  b.Trust({&a});
  b.host.AddInstance("wf/f/0");
  std::vector<std::promise<Result<CallReply>>> ps(8);
  for (auto& p : ps) {
    a.dataplane.Call(b.Target("wf/f/0"), "s", "together:8", milliseconds(10000),
                     [&p](Result<CallReply> r) { p.set_value(std::move(r)); });
  }
  for (auto& p : ps) {
    Result<CallReply> r = p.get_future().get();
    ASSERT_TRUE(r.ok()) << "calls were serialized: " << r.status().message();
    EXPECT_EQ(r->bytes, "together");
  }
}

TEST(DataplaneTest, CallsInFlightHoldNoThreadOfTheCaller) {
  // 48 calls answered only once all 48 are at the receiver at the same
  // time: a sender that held a thread (of a fixed pool) per call in flight
  // would send them a pool's worth at a time, and they would time out.
  Node a, b;
  b.Trust({&a});
  b.host.AddInstance("wf/f/0");
  constexpr int kCalls = 48;
  std::vector<std::promise<Result<CallReply>>> ps(kCalls);
  for (auto& p : ps) {
    a.dataplane.Call(b.Target("wf/f/0"), "s", "together:" + std::to_string(kCalls),
                     milliseconds(10000), [&p](Result<CallReply> r) { p.set_value(std::move(r)); });
  }
  for (auto& p : ps) {
    Result<CallReply> r = p.get_future().get();
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->bytes, "together");
  }
  EXPECT_EQ(a.dataplane.counters().calls_ok, static_cast<uint64_t>(kCalls));
}

TEST(DataplaneTest, CallsPastTheConnectionsWaitAndPastThePendingBoundAreRefused) {
  DataplaneOptions o;
  o.call_connections = 2;
  o.max_pending_calls = 3;
  Node a(o), b;
  b.Trust({&a});
  b.host.AddInstance("wf/f/0");
  std::vector<std::promise<Result<CallReply>>> ps(3);
  // Two on the two connections, one waiting for a connection: all three
  // answered in turn.
  for (auto& p : ps) {
    a.dataplane.Call(b.Target("wf/f/0"), "s", "sleep:200", milliseconds(10000),
                     [&p](Result<CallReply> r) { p.set_value(std::move(r)); });
  }
  Result<CallReply> refused = CallAndWait(a.dataplane, b.Target("wf/f/0"), "x");
  EXPECT_EQ(refused.status().code(), Code::kResourceExhausted) << refused.status().message();
  for (auto& p : ps) EXPECT_TRUE(p.get_future().get().ok());
  EXPECT_TRUE(CallAndWait(a.dataplane, b.Target("wf/f/0"), "x").ok());
}

TEST(DataplaneTest, ACallOnTheCallersThreadAnswersAsCallDoesAndStopCutsIt) {
  Node a, b;
  b.Trust({&a});
  b.host.AddInstance("wf/f/0");
  std::optional<Result<CallReply>> r =
      a.dataplane.CallOnThisThread(b.Target("wf/f/0"), "s", "hi", milliseconds(5000));
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(r->ok()) << r->status().message();
  EXPECT_EQ((*r)->bytes, "wf/f/0|s|hi");
  EXPECT_EQ(b.host.last_call_timeout(), milliseconds(5000));
  r = a.dataplane.CallOnThisThread(b.Target("wf/nope/0"), "s", "x", milliseconds(5000));
  EXPECT_EQ(r->status().code(), Code::kNotFound);
  r = a.dataplane.CallOnThisThread(b.Target("wf/f/0"), "s", "fail", milliseconds(5000));
  EXPECT_EQ(r->status().code(), Code::kInternal);
  r = a.dataplane.CallOnThisThread(b.Target("wf/f/0"), "s", std::string(kMaxEventPayload + 1, 'x'),
                                   milliseconds(5000));
  EXPECT_EQ(r->status().code(), Code::kInvalidArgument);
  EXPECT_EQ(a.dataplane.counters().calls_ok, 1u);

  // In flight at the peer when the dataplane stops: cut, not waited for.
  auto cut = std::async(std::launch::async, [&] {
    return a.dataplane.CallOnThisThread(b.Target("wf/f/0"), "s", "sleep:3000", milliseconds(4000));
  });
  ASSERT_TRUE(Eventually([&] { return b.host.last_call_timeout() == milliseconds(4000); }));
  a.dataplane.Stop();
  ASSERT_EQ(cut.wait_for(milliseconds(2000)), std::future_status::ready) << "Stop did not cut it";
  std::optional<Result<CallReply>> c = cut.get();
  EXPECT_EQ(c->status().code(), Code::kUnavailable) << c->status().message();
  r = a.dataplane.CallOnThisThread(b.Target("wf/f/0"), "s", "late", milliseconds(5000));
  EXPECT_EQ(r->status().code(), Code::kUnavailable);
}

TEST(DataplaneTest, OnlyPeersWithTheirOwnTokenGetIn) {
  DataplaneOptions quick;
  quick.retry_for = milliseconds(200);
  quick.backoff_initial = milliseconds(20);
  quick.backoff_max = milliseconds(50);
  Node a, b, stranger(quick);
  b.Trust({&a});
  b.host.AddInstance("wf/sink/0");
  b.host.AddInstance("wf/other/0");  // runs on b, but a's outputs do not reach it

  // A node that is not a peer: refused, retried like an unreachable peer,
  // then dropped; nothing arrives.
  ASSERT_TRUE(stranger.dataplane.Cast(b.Target("wf/sink/0"), "s", "x", kNoWait).ok());
  EXPECT_TRUE(Eventually([&] { return stranger.dataplane.counters().unreachable == 1; }));
  auto call = CallAndWait(stranger.dataplane, b.Target("wf/sink/0"), "x");
  EXPECT_EQ(call.status().code(), Code::kUnavailable);
  EXPECT_NE(call.status().message().find("refused this node's dataplane token"), std::string::npos)
      << call.status().message();
  EXPECT_TRUE(b.host.events().empty());

  std::string frame;
  AppendFrame(frame, "wf/sink/0", "s", "x");
  auto post = [&](const std::string& path, const std::string& body, HttpHeaders h) {
    auto r = HttpFetch("POST", b.server.url() + path, body, h);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : HttpResponse{};
  };
  const std::string a_id = a.identity->node_id();
  const std::string good = PairToken(a.identity->dataplane_key(), b.identity->node_id());
  struct Case {
    std::string what;
    HttpHeaders headers;
    int status;
  };
  std::vector<Case> cases = {
      {"no headers", {}, 401},
      {"no node id", {{"Authorization", "Bearer " + good}}, 401},
      {"no token", {{"X-Aether-Node", a_id}}, 401},
      {"a's secret itself",
       {{"X-Aether-Node", a_id}, {"Authorization", "Bearer " + a.identity->secret()}},
       403},
      {"a's token for another node",
       {{"X-Aether-Node", a_id},
        {"Authorization", "Bearer " + PairToken(a.identity->dataplane_key(), "node-x")}},
       403},
      {"the stranger's own token, as a",
       {{"X-Aether-Node", a_id},
        {"Authorization",
         "Bearer " + PairToken(stranger.identity->dataplane_key(), b.identity->node_id())}},
       403},
      {"a's token, as the stranger",
       {{"X-Aether-Node", stranger.identity->node_id()}, {"Authorization", "Bearer " + good}},
       403},
      {"truncated",
       {{"X-Aether-Node", a_id}, {"Authorization", "Bearer " + good.substr(0, 63)}},
       403},
      {"padded", {{"X-Aether-Node", a_id}, {"Authorization", "Bearer " + good + "0"}}, 403},
      {"empty", {{"X-Aether-Node", a_id}, {"Authorization", "Bearer "}}, 0},  // 401 or 403
  };
  for (const Case& c : cases) {
    for (std::string path : {"/dataplane/v1/events", "/dataplane/v1/call"}) {
      HttpResponse r = post(path, frame, c.headers);
      if (c.status == 0) {
        EXPECT_TRUE(r.status == 401 || r.status == 403) << c.what << " " << path << ": " << r.body;
      } else {
        EXPECT_EQ(r.status, c.status) << c.what << " " << path << ": " << r.body;
      }
    }
  }
  EXPECT_TRUE(b.host.events().empty());

  // a's own token: in, but only for the instances its outputs reach.
  EXPECT_EQ(post("/dataplane/v1/events", frame, b.From(a)).body, R"({"accepted":1,"dropped":0})");
  std::string other;
  AppendFrame(other, "wf/other/0", "s", "x");
  EXPECT_EQ(post("/dataplane/v1/events", other, b.From(a)).body, R"({"accepted":0,"dropped":1})");
  EXPECT_EQ(post("/dataplane/v1/call", other, b.From(a)).status, 403);
  ASSERT_EQ(b.host.events().size(), 1u);
  EXPECT_EQ(b.host.events()[0].instance, "wf/sink/0");

  // A new assignment without a: refused from then on.
  b.Trust({});
  EXPECT_EQ(post("/dataplane/v1/events", frame, b.From(a)).status, 403);
}

TEST(DataplaneTest, WithoutPeersOrIdentityEverythingIsRefused) {
  FakeHost host;
  Dataplane alone(DataplaneOptions{});
  HttpServer server(HttpServerOptions{});
  alone.Register(server, host);
  ASSERT_TRUE(server.Start().ok());
  for (HttpHeaders h : {HttpHeaders{{"Authorization", "Bearer "}},
                        HttpHeaders{{"Authorization", "Bearer x"}, {"X-Aether-Node", "n"}}}) {
    auto r = HttpFetch("POST", server.url() + "/dataplane/v1/events", "", h);
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r->status == 401 || r->status == 403) << r->status;
  }
  server.Stop();
}

TEST(DataplaneTest, MalformedAndOversizedBatches) {
  Node a, b({}, 8ull << 20);  // the server lets 8 MiB through: the dataplane's own limit answers
  b.Trust({&a});
  b.host.AddInstance("wf/sink/0");
  HttpHeaders auth = b.From(a);
  std::string good;
  AppendFrame(good, "wf/sink/0", "s", "x");
  auto truncated = HttpFetch("POST", b.server.url() + "/dataplane/v1/events",
                             good + good.substr(0, good.size() - 1), auth);
  ASSERT_TRUE(truncated.ok());
  EXPECT_EQ(truncated->status, 400);
  EXPECT_NE(truncated->body.find("truncated"), std::string::npos);
  EXPECT_EQ(b.host.events().size(), 0u) << "all or nothing";

  std::string big;
  while (big.size() <= kMaxBatchBytes) AppendFrame(big, "wf/sink/0", "s", std::string(65536, 'x'));
  auto too_big = HttpFetch("POST", b.server.url() + "/dataplane/v1/events", big, auth);
  ASSERT_TRUE(too_big.ok());
  EXPECT_EQ(too_big->status, 413);

  auto ok = HttpFetch("POST", b.server.url() + "/dataplane/v1/events", good, auth);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->body, R"({"accepted":1,"dropped":0})");

  HttpHeaders bad_timeout = auth;
  bad_timeout.emplace_back("X-Aether-Timeout-Ms", "soon");
  auto call = HttpFetch("POST", b.server.url() + "/dataplane/v1/call", good, bad_timeout);
  ASSERT_TRUE(call.ok());
  EXPECT_EQ(call->status, 400);
  auto two = HttpFetch("POST", b.server.url() + "/dataplane/v1/call", good + good, auth);
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->status, 400);
}

TEST(DataplaneTest, ServerBodyLimitAlsoAnswers413) {
  Node a, b;  // default max_body 4 MiB: the server refuses before the handler
  b.Trust({&a});
  std::string big(kMaxBatchBytes + 1, 'x');
  auto r = HttpFetch("POST", b.server.url() + "/dataplane/v1/events", big, b.From(a));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 413);
}

TEST(DataplaneTest, PeerDownDropsAndCountsWithoutBlocking) {
  DataplaneOptions o;
  o.queue_length = 100;
  o.retry_for = milliseconds(300);
  o.backoff_initial = milliseconds(20);
  o.backoff_max = milliseconds(100);
  Node a(o);
  OutputTarget dead{"wf/x/0", "n2", "http://127.0.0.1:1"};
  auto start = std::chrono::steady_clock::now();
  int ok = 0, full = 0;
  for (int i = 0; i < 1000; ++i) {
    Status st = a.dataplane.Cast(dead, "s", "x", kNoWait);
    if (st.ok()) {
      ++ok;
    } else {
      EXPECT_EQ(st.code(), Code::kResourceExhausted);
      a.dataplane.CountSendDropped(dead);  // final, as Core::CastFrom says
      ++full;
    }
  }
  // A Cast that waited for the dead peer would wait at least one backoff
  // (20 ms) each: 20 s for the 1000. The bound only has to tell that apart
  // from not waiting, on however busy a machine.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10)) << "Cast blocked";
  EXPECT_GT(full, 0);
  Eventually([&] { return a.dataplane.counters().unreachable >= static_cast<uint64_t>(ok); });
  DataplaneCounters c = a.dataplane.counters();
  EXPECT_EQ(c.unreachable, static_cast<uint64_t>(ok));
  EXPECT_EQ(c.queue_full, static_cast<uint64_t>(full));
  EXPECT_EQ(c.peers_down, 1u);
  EXPECT_EQ(c.queued, 0u);
  // The network side tells the host what it dropped after taking it; the
  // refused sends count on their senders (Actor::CountLinkDropped).
  EXPECT_EQ(a.host.dataplane_dropped(), ok) << "the host's aether_dataplane_dropped_total";
  // Stop does not hang on the dead peer (its retries and backoff).
  auto stop = std::chrono::steady_clock::now();
  a.dataplane.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - stop, std::chrono::seconds(5));
  EXPECT_EQ(a.dataplane.Cast(dead, "s", "x", kNoWait).code(), Code::kUnavailable);
}

TEST(DataplaneTest, PeerComingBackGetsQueuedEvents) {
  DataplaneOptions o;
  o.retry_for = milliseconds(10000);
  o.backoff_initial = milliseconds(20);
  o.backoff_max = milliseconds(50);
  Node a(o);
  // Reserve a port, then free it for the late peer.
  uint16_t port;
  {
    HttpServer probe(HttpServerOptions{});
    ASSERT_TRUE(probe.Start().ok());
    port = probe.port();
    probe.Stop();
  }
  OutputTarget t{"wf/sink/0", "n2", "http://127.0.0.1:" + std::to_string(port)};
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(a.dataplane.Cast(t, "s", std::to_string(i), kNoWait).ok());
  // The peer is seen down (the events wait in the queue) before it comes up.
  ASSERT_TRUE(Eventually([&] { return a.dataplane.counters().peers_down == 1; }));
  FakeHost host;
  host.AddInstance("wf/sink/0");
  Dataplane dp(DataplaneOptions{});
  dp.SetPeers({GrantFor(*a.identity, "n2", kInstances)});
  HttpServerOptions so;
  so.port = port;
  HttpServer server(so);
  dp.Register(server, host);
  ASSERT_TRUE(server.Start().ok());
  EXPECT_EQ(host.WaitCasts(10, milliseconds(5000)), 10u);
  EXPECT_EQ(host.events()[0].payload, "0");
  EXPECT_TRUE(Eventually([&] { return a.dataplane.counters().peers_down == 0; }));
  server.Stop();
}

TEST(DataplaneTest, StopFailsWaitingCalls) {
  DataplaneOptions o;
  o.call_connections = 1;
  auto a = std::make_unique<Node>(o);
  Node b;
  b.Trust({a.get()});
  b.host.AddInstance("wf/f/0");
  std::promise<Result<CallReply>> first, second;
  std::future<Result<CallReply>> f1 = first.get_future(), f2 = second.get_future();
  a->dataplane.Call(b.Target("wf/f/0"), "s", "sleep:1000", milliseconds(10000),
                    [&](Result<CallReply> r) { first.set_value(std::move(r)); });
  a->dataplane.Call(b.Target("wf/f/0"), "s", "x", milliseconds(10000),
                    [&](Result<CallReply> r) { second.set_value(std::move(r)); });
  // The first call is in flight at the peer (on the only connection).
  ASSERT_TRUE(Eventually([&] { return b.host.last_call_timeout() != milliseconds(-1); }));
  a->dataplane.Stop();
  // Both are answered by the time Stop returns, and not by the peer: a Stop
  // that waited for the call in flight would see its reply ("slept").
  ASSERT_EQ(f1.wait_for(milliseconds(0)), std::future_status::ready);
  ASSERT_EQ(f2.wait_for(milliseconds(0)), std::future_status::ready);
  Result<CallReply> r1 = f1.get(), r2 = f2.get();
  EXPECT_EQ(r1.status().code(), Code::kUnavailable) << r1.status().message();
  EXPECT_EQ(r2.status().code(), Code::kUnavailable) << r2.status().message();
}

TEST(DataplaneTest, IngressRoute) {
  Node b;
  auto post = HttpFetch("POST", b.server.url() + "/wf/shop/orders/new?x=1", "body!");
  ASSERT_TRUE(post.ok());
  EXPECT_EQ(post->status, 200);
  EXPECT_EQ(post->content_type, "text/plain");
  EXPECT_EQ(post->body, "POST orders/new body!");
  // The Idempotency-Key header reaches the host.
  auto keyed = HttpFetch("POST", b.server.url() + "/wf/shop/orders", "b",
                         HttpHeaders{{"Idempotency-Key", "order-42"}});
  ASSERT_TRUE(keyed.ok());
  EXPECT_EQ(keyed->body, "POST orders b key=order-42");
  auto get = HttpFetch("GET", b.server.url() + "/wf/shop/orders");
  ASSERT_TRUE(get.ok());
  EXPECT_EQ(get->body, "GET orders ");
  auto root = HttpFetch("PUT", b.server.url() + "/wf/shop", "b");
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(root->body, "PUT  b");
  auto del = HttpFetch("DELETE", b.server.url() + "/wf/shop/orders");
  ASSERT_TRUE(del.ok());
  EXPECT_EQ(del->status, 405);
  auto other = HttpFetch("POST", b.server.url() + "/wf/other/orders", "x");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->status, 404);
  auto none = HttpFetch("POST", b.server.url() + "/wf/", "x");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->status, 404);
}

// A producer that backs off while the link is full (as a guest does on
// EFULL) loses nothing: every accepted event arrives, in order. The rate
// is measured by bench/workflow_throughput.cc (aether-bench-workflow).
TEST(DataplaneTest, AProducerThatBacksOffOnAFullLinkLosesNothing) {
  DataplaneOptions o;
  o.queue_length = 16;  // full often, with 2000 events
  Node a(o), b;
  b.Trust({&a});
  b.host.AddInstance("wf/sink/0");
  constexpr size_t kN = 2000;
  const OutputTarget t = b.Target("wf/sink/0");
  size_t sent = 0;
  while (sent < kN) {
    Status st = a.dataplane.Cast(t, "src", std::to_string(sent), kNoWait);
    if (st.ok()) {
      ++sent;
    } else {
      ASSERT_EQ(st.code(), Code::kResourceExhausted) << st.message();
      std::this_thread::yield();
    }
  }
  ASSERT_EQ(b.host.WaitCasts(kN, milliseconds(60000)), kN);
  auto events = b.host.events();
  for (size_t i = 0; i < kN; ++i) ASSERT_EQ(events[i].payload, std::to_string(i));
}

}  // namespace
}  // namespace aether::workflow
