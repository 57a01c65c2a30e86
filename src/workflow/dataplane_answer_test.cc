// The answer to a batch of casts, as a confused or hostile peer might write
// it: parsed alone, and read by a real Dataplane from a fake peer (a
// FakeHttpClient) that answers one batch with it.
#include "workflow/dataplane_answer.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "common/testing/eventually.h"
#include "common/testing/fake_http_client.h"
#include "workflow/dataplane.h"
#include "workflow/dataplane_codec.h"

namespace aether::workflow {
namespace {

using std::chrono::milliseconds;

// A deferred array of `n` ascending indexes from 0, and then `extra`.
std::string HugeDeferred(size_t n, const std::string& extra) {
  std::string out = R"({"accepted":0,"dropped":0,"deferred":[)";
  for (size_t i = 0; i < n; ++i) out += std::to_string(i) + ",";
  return out + extra + "]}";
}

// An answer to a batch of 5 frames and what the sender must make of it.
struct Case {
  std::string what;
  std::string body;
  uint64_t accepted, dropped;
  std::vector<size_t> deferred;  // sent again, once each
  uint64_t unaccounted;          // counted as dropped (bad_answer)
  bool well_formed = false;
};

const std::vector<Case>& Cases() {
  static const std::vector<Case> cases = {
      {"the protocol's", R"({"accepted":2,"dropped":1,"deferred":[1,3]})", 2, 1, {1, 3}, 0, true},
      {"no deferred", R"({"accepted":4,"dropped":1})", 4, 1, {}, 0, true},
      {"out of range",
       R"({"accepted":3,"dropped":0,"deferred":[3,4,5,99,4294967296]})",
       3,
       0,
       {3, 4},
       0},
      {"descending", R"({"accepted":2,"dropped":0,"deferred":[4,2,3]})", 2, 0, {4}, 2},
      {"duplicates", R"({"accepted":3,"dropped":0,"deferred":[1,1,2,2,1]})", 3, 0, {1, 2}, 0},
      {"not integers",
       R"({"accepted":3,"dropped":0,"deferred":["1",1.5,true,null,{},[2],3]})",
       3,
       0,
       {3},
       1},
      {"negative",
       R"({"accepted":4,"dropped":0,"deferred":[-1,0,-9223372036854775808]})",
       4,
       0,
       {0},
       0},
      {"huge numbers",
       R"({"accepted":0,"dropped":0,"deferred":[18446744073709551615,1e300]})",
       0,
       0,
       {},
       5},
      {"huge array", HugeDeferred(200000, "0"), 0, 0, {0, 1, 2, 3, 4}, 0},
      {"deferred not an array", R"({"accepted":5,"dropped":0,"deferred":"0,1"})", 5, 0, {}, 0},
      {"deferred an object", R"({"accepted":1,"dropped":0,"deferred":{"0":1}})", 1, 0, {}, 4},
      {"accepted overclaims", R"({"accepted":1e18,"dropped":7,"deferred":[2]})", 4, 0, {2}, 0},
      {"counts negative", R"({"accepted":-5,"dropped":-1})", 0, 0, {}, 5},
      {"counts as strings", R"({"accepted":"5","dropped":"0"})", 0, 0, {}, 5},
      {"missing accepted", R"({"dropped":1,"deferred":[0]})", 0, 1, {0}, 3},
      {"missing dropped", R"({"accepted":3})", 3, 0, {}, 2},
      {"empty object", "{}", 0, 0, {}, 5},
      {"a JSON array", "[0,1,2]", 0, 0, {}, 5},
      {"not JSON", "OK", 0, 0, {}, 5},
      {"empty body", "", 0, 0, {}, 5},
      {"truncated JSON", R"({"accepted":5,"dropped":0,"deferred":[1,)", 0, 0, {}, 5},
  };
  return cases;
}

TEST(DataplaneAnswerTest, FormatsWhatParses) {
  EXPECT_EQ(FormatBatchAnswer(1, 0, {}), R"({"accepted":1,"dropped":0})");
  EXPECT_EQ(FormatBatchAnswer(2, 1, {1, 3}), R"({"accepted":2,"dropped":1,"deferred":[1,3]})");
  BatchAnswer a = ParseBatchAnswer(FormatBatchAnswer(2, 1, {1, 3}), 5);
  EXPECT_EQ(a.accepted, 2u);
  EXPECT_EQ(a.dropped, 1u);
  EXPECT_EQ(a.deferred, (std::vector<size_t>{1, 3}));
  EXPECT_EQ(a.unaccounted, 0u);
  EXPECT_EQ(a.problem, "");
}

TEST(DataplaneAnswerTest, EveryFrameIsAccountedForOnceWhateverThePeerWrote) {
  for (const Case& c : Cases()) {
    BatchAnswer a = ParseBatchAnswer(c.body, 5);
    EXPECT_EQ(a.accepted, c.accepted) << c.what;
    EXPECT_EQ(a.dropped, c.dropped) << c.what;
    EXPECT_EQ(a.deferred, c.deferred) << c.what;
    EXPECT_EQ(a.unaccounted, c.unaccounted) << c.what;
    EXPECT_EQ(a.accepted + a.dropped + a.deferred.size() + a.unaccounted, 5u) << c.what;
    EXPECT_EQ(a.problem.empty(), c.well_formed) << c.what << ": " << a.problem;
    EXPECT_LT(a.problem.size(), 200u) << c.what << ": a peer does not fill the log";
  }
  EXPECT_EQ(ParseBatchAnswer(R"({"accepted":0,"dropped":0,"deferred":[0]})", 0).deferred.size(), 0u)
      << "an empty batch has no index";
}

// A sending node whose peer is a FakeHttpClient: the first batch (one
// frame) is held until the test has queued five more, so the second batch
// is exactly frames "0".."4"; that one gets `answer`, every later batch an
// honest "all accepted". Returns the counters once every frame is
// accounted for, and in `sends` how often each payload was sent.
DataplaneCounters SendFiveAndAnswer(const std::string& answer, std::map<std::string, int>* sends) {
  std::mutex mu;
  int batches = 0;
  FakeHttpClient http;
  http.SetHandler([&](const HttpClientRequest& r) -> Result<HttpResponse> {
    Result<std::vector<Frame>> frames = DecodeFrames(r.body);
    EXPECT_TRUE(frames.ok()) << frames.status().message();
    if (!frames.ok()) return FakeHttpClient::Reply(400, "{}");
    int batch;
    {
      std::lock_guard lock(mu);
      batch = batches++;
      for (const Frame& f : *frames) ++(*sends)[std::string(f.payload)];
    }
    if (batch == 0) http.Park(r, milliseconds(30000));
    if (batch == 1) {
      EXPECT_EQ(frames->size(), 5u) << "the batch the answer is for";
      return FakeHttpClient::Reply(200, answer);
    }
    return FakeHttpClient::Reply(200, FormatBatchAnswer(frames->size(), 0, {}));
  });
  DataplaneOptions o;
  o.http = &http;
  o.overrun_pause = milliseconds(1);
  Dataplane dp(o);
  OutputTarget t{"wf/sink/0", "peer", "http://peer.test"};
  EXPECT_TRUE(dp.Cast(t, "s", "first", kNoWait).ok());
  EXPECT_TRUE(http.WaitParked(1, milliseconds(30000)));
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(dp.Cast(t, "s", std::to_string(i), kNoWait).ok());
  http.Wake();
  auto settled = [&] {
    DataplaneCounters c = dp.counters();
    return c.sent + c.peer_dropped + c.bad_answer == 6 && c.queued == 0;
  };
  EXPECT_TRUE(aether::testing::Eventually(settled));
  dp.Stop();
  sends->erase("first");
  return dp.counters();
}

TEST(DataplaneAnswerTest, ASenderNeverSendsAFrameTwiceForAnyAnswer) {
  for (const Case& c : Cases()) {
    std::map<std::string, int> sends;
    DataplaneCounters got = SendFiveAndAnswer(c.body, &sends);
    for (size_t i = 0; i < 5; ++i) {
      bool again = std::find(c.deferred.begin(), c.deferred.end(), i) != c.deferred.end();
      EXPECT_EQ(sends[std::to_string(i)], again ? 2 : 1) << c.what << ": frame " << i;
    }
    EXPECT_EQ(sends.size(), 5u) << c.what << ": nothing outside the batch";
    EXPECT_EQ(got.sent, 1 + c.accepted + c.deferred.size()) << c.what;
    EXPECT_EQ(got.peer_dropped, c.dropped) << c.what;
    EXPECT_EQ(got.bad_answer, c.unaccounted) << c.what;
    EXPECT_EQ(got.deferred, c.deferred.size()) << c.what;
  }
}

}  // namespace
}  // namespace aether::workflow
