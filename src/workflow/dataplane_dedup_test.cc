// At most once across nodes: the receiver's window of recent batch ids
// (BatchWindows alone, then the /dataplane/v1/events route), and the
// sender's ids — kept by a retry after a lost answer, new for the frames
// the receiver deferred.
#include "workflow/dataplane_dedup.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "common/testing/eventually.h"
#include "common/testing/fake_clock.h"
#include "common/testing/fake_http_client.h"
#include "common/testing/http_fetch.h"
#include "workflow/dataplane_answer.h"
#include "workflow/dataplane_codec.h"
#include "workflow/dataplane_test_node.h"

namespace aether::workflow {
namespace {

using std::chrono::milliseconds;
using testing::TestNode;

// Windows on a FakeClock; `deliveries` counts what they let through.
struct Windows {
  explicit Windows(BatchWindowOptions o = {})
      : windows([&] {
          o.clock = &clock;
          return o;
        }()) {}

  // Batch `id` from `sender`, whose first delivery answers `answer`.
  std::string Post(std::string_view sender, std::string_view id, std::string answer = "a") {
    bool duplicate = false;
    std::string got = windows.Once(
        sender, id,
        [&] {
          ++deliveries;
          return answer;
        },
        &duplicate);
    duplicates += duplicate ? 1 : 0;
    return got;
  }

  aether::testing::FakeClock clock;
  BatchWindows windows;
  std::atomic<int> deliveries{0};
  int duplicates = 0;
};

TEST(BatchWindowsTest, TheSameIdTwiceIsDeliveredOnceAndAnsweredAlike) {
  Windows w;
  EXPECT_EQ(w.Post("a", "e-1", R"({"accepted":1,"dropped":0})"), R"({"accepted":1,"dropped":0})");
  EXPECT_EQ(w.Post("a", "e-1", "not asked"), R"({"accepted":1,"dropped":0})");
  EXPECT_EQ(w.deliveries, 1);
  EXPECT_EQ(w.duplicates, 1);
  w.Post("a", "e-2");
  EXPECT_EQ(w.deliveries, 2) << "another id is another batch";
}

TEST(BatchWindowsTest, IdsFromTwoSendersAreIndependent) {
  Windows w;
  w.Post("a", "e-1", "to a");
  EXPECT_EQ(w.Post("b", "e-1", "to b"), "to b");
  EXPECT_EQ(w.deliveries, 2);
  EXPECT_EQ(w.Post("b", "e-1"), "to b");
  EXPECT_EQ(w.Post("a", "e-1"), "to a");
  EXPECT_EQ(w.deliveries, 2);
  EXPECT_EQ(w.windows.senders(), 2u);
}

TEST(BatchWindowsTest, TheWindowIsBoundedByCount) {
  Windows w({.max_batches = 3});
  for (int i = 1; i <= 4; ++i) w.Post("a", "e-" + std::to_string(i));
  EXPECT_EQ(w.windows.batches("a"), 3u);
  w.Post("a", "e-4");
  EXPECT_EQ(w.deliveries, 4) << "the newest are remembered";
  w.Post("a", "e-1");
  EXPECT_EQ(w.deliveries, 5) << "the oldest is forgotten";
}

TEST(BatchWindowsTest, TheWindowIsBoundedByAge) {
  Windows w({.max_age = milliseconds(1000)});
  w.Post("a", "e-1");
  w.clock.Advance(milliseconds(600));
  w.Post("a", "e-2");
  w.clock.Advance(milliseconds(399));
  w.Post("a", "e-1");
  EXPECT_EQ(w.deliveries, 2) << "999 ms old: still held";
  w.clock.Advance(milliseconds(1));
  w.Post("a", "e-1");
  EXPECT_EQ(w.deliveries, 3) << "1 s old: forgotten";
  EXPECT_EQ(w.windows.batches("a"), 2u) << "e-2 and the new e-1";
}

TEST(BatchWindowsTest, AHostilePeerCannotGrowItsWindowPastTheByteBound) {
  Windows w({.max_batches = 1'000'000, .max_bytes = 1u << 20});
  std::string big(100'000, 'x');
  for (int i = 0; i < 1000; ++i) w.Post("a", std::to_string(i), big);
  EXPECT_LE(w.windows.bytes("a"), size_t{1} << 20);
  EXPECT_GE(w.windows.batches("a"), 9u);
  EXPECT_LE(w.windows.batches("a"), 10u);
  // One answer over the bound alone is still kept: its resend is answered.
  w.Post("a", "huge", std::string(2u << 20, 'y'));
  EXPECT_EQ(w.windows.batches("a"), 1u);
  w.Post("a", "huge");
  EXPECT_EQ(w.deliveries, 1001);
  // Many small batches: the count bounds them.
  Windows small({.max_batches = 100});
  for (int i = 0; i < 10'000; ++i) small.Post("a", std::to_string(i));
  EXPECT_EQ(small.windows.batches("a"), 100u);
}

TEST(BatchWindowsTest, ForgetsSendersThatAreNoLongerPeers) {
  Windows w;
  w.Post("a", "e-1");
  w.Post("b", "e-1");
  w.windows.Retain({"b"});
  EXPECT_EQ(w.windows.senders(), 1u);
  EXPECT_EQ(w.windows.batches("a"), 0u);
  w.Post("b", "e-1");
  EXPECT_EQ(w.deliveries, 2);
}

TEST(BatchWindowsTest, CopiesArrivingAtOnceAreDeliveredOnce) {
  Windows w;
  std::vector<std::thread> threads;
  threads.reserve(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      for (int id = 0; id < 200; ++id) w.Post("a", std::to_string(id));
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(w.deliveries, 200);
}

TEST(BatchWindowsTest, BatchIds) {
  for (std::string_view ok : {"0123456789abcdef-1", "a", "A.b_c-9"}) {
    EXPECT_TRUE(ValidBatchId(ok)) << ok;
  }
  EXPECT_TRUE(ValidBatchId(std::string(64, 'f')));
  for (const std::string& bad : {std::string(), std::string(65, 'f'), std::string("a b"),
                                 std::string("a/b"), std::string("é"), std::string("a\0b", 3)}) {
    EXPECT_FALSE(ValidBatchId(bad)) << bad;
  }
}

// The route: `sender` posts `frames` to `receiver` with batch id `id`.
HttpResponse PostBatch(TestNode& receiver, const TestNode& sender, const std::string& frames,
                       const std::string& id) {
  HttpHeaders h = receiver.From(sender);
  if (!id.empty()) h.emplace_back(std::string(kBatchHeader), id);
  Result<HttpResponse> r =
      HttpFetch("POST", receiver.server.url() + "/dataplane/v1/events", frames, h);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : HttpResponse{};
}

std::string Frames(const std::vector<std::string>& payloads) {
  std::string out;
  for (const std::string& p : payloads) AppendFrame(out, "wf/sink/0", "s", p);
  return out;
}

TEST(DataplaneDedupTest, ABatchPostedTwiceIsDeliveredOnce) {
  TestNode a, b;
  b.Trust({&a});
  b.host.AddInstance("wf/sink/0");
  HttpResponse first = PostBatch(b, a, Frames({"0", "1"}), "e-1");
  HttpResponse again = PostBatch(b, a, Frames({"0", "1"}), "e-1");
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(again.body, first.body);
  EXPECT_EQ(b.host.events().size(), 2u);
  EXPECT_EQ(b.dataplane.counters().received, 2u);
  EXPECT_EQ(b.dataplane.counters().received_duplicates, 1u);
  EXPECT_NE(b.metrics.Render().find("aether_dataplane_duplicate_batches_total 1"),
            std::string::npos);

  // Without an id (a sender from before): delivered each time.
  PostBatch(b, a, Frames({"2"}), "");
  PostBatch(b, a, Frames({"2"}), "");
  EXPECT_EQ(b.host.events().size(), 4u);

  // A malformed id is refused, nothing delivered.
  for (const std::string& bad : {std::string(65, 'f'), std::string("a b")}) {
    HttpResponse r = PostBatch(b, a, Frames({"3"}), bad);
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_NE(r.body.find("invalid_batch_id"), std::string::npos) << r.body;
  }
  HttpHeaders empty_id = b.From(a);
  empty_id.emplace_back(std::string(kBatchHeader), "");
  auto r = HttpFetch("POST", b.server.url() + "/dataplane/v1/events", Frames({"3"}), empty_id);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(b.host.events().size(), 4u);
}

TEST(DataplaneDedupTest, TheDeferredRemainderIsDeliveredUnderANewId) {
  TestNode a, b;
  b.Trust({&a});
  b.host.AddInstance("wf/sink/0");
  b.host.SetCapacity(1);
  HttpResponse first = PostBatch(b, a, Frames({"0", "1", "2"}), "e-1");
  EXPECT_EQ(first.body, R"({"accepted":1,"dropped":0,"deferred":[1,2]})");
  b.host.SetCapacity(3);
  // The same batch again (its answer was lost): the same answer, nothing
  // delivered — the sender sends the deferred frames in a new batch.
  EXPECT_EQ(PostBatch(b, a, Frames({"0", "1", "2"}), "e-1").body, first.body);
  EXPECT_EQ(b.host.events().size(), 1u);
  EXPECT_EQ(PostBatch(b, a, Frames({"1", "2"}), "e-2").body, R"({"accepted":2,"dropped":0})");
  auto events = b.host.events();
  ASSERT_EQ(events.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(events[i].payload, std::to_string(i));
}

TEST(DataplaneDedupTest, TwoPeersUsingTheSameIdAreIndependent) {
  TestNode a, c, b;
  b.Trust({&a, &c});
  b.host.AddInstance("wf/sink/0");
  PostBatch(b, a, Frames({"from a"}), "e-1");
  PostBatch(b, c, Frames({"from c"}), "e-1");
  ASSERT_EQ(b.host.events().size(), 2u);
  EXPECT_EQ(b.dataplane.counters().received_duplicates, 0u);
}

std::string HeaderOf(const HttpClientRequest& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

// A sender whose peer is a FakeHttpClient in front of a real receiver: the
// first request reaches the receiver, but its answer is lost.
TEST(DataplaneDedupTest, ASenderResendsALostAnswerUnderItsIdAndDeferredFramesUnderNewOnes) {
  TestNode b;
  b.host.AddInstance("wf/sink/0");
  std::unique_ptr<HttpClient> real = NewHttpClient();
  std::mutex mu;
  std::vector<std::string> ids;
  FakeHttpClient http([&](const HttpClientRequest& r) -> Result<HttpResponse> {
    Result<HttpResponse> answer = real->Send(r);
    std::lock_guard lock(mu);
    ids.push_back(HeaderOf(r, kBatchHeader));
    if (ids.size() == 1) return Unavailable("connection lost mid-exchange");
    return answer;
  });
  DataplaneOptions o;
  o.http = &http;
  o.backoff_initial = milliseconds(1);
  o.overrun_pause = milliseconds(1);
  TestNode a(o);
  b.Trust({&a});
  const OutputTarget t = b.Target("wf/sink/0");

  // Delivered, the answer lost, sent again under the same id: not twice.
  ASSERT_TRUE(a.dataplane.Cast(t, "s", "0", kNoWait).ok());
  ASSERT_TRUE(aether::testing::Eventually([&] { return a.dataplane.counters().sent == 1; }));
  EXPECT_EQ(b.host.events().size(), 1u);
  EXPECT_EQ(b.dataplane.counters().received_duplicates, 1u);

  // A full mailbox defers the next event, again and again: each resend of
  // a deferred frame is a new batch (else the window would answer it as
  // deferred for ever), delivered once there is room.
  b.host.SetCapacity(1);
  ASSERT_TRUE(a.dataplane.Cast(t, "s", "1", kNoWait).ok());
  ASSERT_TRUE(aether::testing::Eventually([&] { return a.dataplane.counters().deferred >= 3; }));
  b.host.SetCapacity(2);
  ASSERT_TRUE(aether::testing::Eventually([&] { return a.dataplane.counters().sent == 2; }));
  auto events = b.host.events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].payload, "1");
  EXPECT_EQ(b.dataplane.counters().received_duplicates, 1u);

  std::lock_guard lock(mu);
  ASSERT_GE(ids.size(), 6u);
  EXPECT_EQ(ids[0], ids[1]) << "a retry keeps its id";
  std::set<std::string> distinct(ids.begin() + 1, ids.end());
  EXPECT_EQ(distinct.size(), ids.size() - 1) << "every other batch has an id of its own";
  for (const std::string& id : ids) {
    EXPECT_TRUE(ValidBatchId(id)) << id;
    EXPECT_EQ(id.find('-'), 16u) << id << ": <epoch>-<sequence>";
  }
}

}  // namespace
}  // namespace aether::workflow
