// The kv resource with storage = "durable", on a real nats-server
// (JetStreamTest): the commands as kv_test.cc has them for memory, keys
// JetStream could not take as they are, the limits, INCR from two stores
// at once (two instances on two nodes), the data seen by the instance
// that replaces a stopped one (a move), and NATS killed and restarted.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "workflow/jetstream_kv.h"
#include "workflow/jetstream_test_util.h"
#include "workflow/resource.h"
#include "workflow/resources/kv.h"
#include "workflow/resources/test_context.h"

namespace aether::workflow::resources {
namespace {

using namespace std::chrono_literals;
using aether::testing::Eventually;

class DurableKvTest : public workflow::testing::JetStreamTest {
 protected:
  // A kv as an instance on its own node would have it: its own
  // connection to NATS (KvBuckets), the same workflow and component.
  std::unique_ptr<Resource> NewStore(ResourceConfigMap config = {}) {
    config["storage"] = "durable";
    ResourceContext ctx = fake_.Make(std::move(config));
    ctx.kv_buckets = KvBuckets::Create(Options());
    auto r = CreateResource("kv", std::move(ctx));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(*r) : nullptr;
  }

  static Result<std::string> Call(Resource& kv, std::string_view payload) {
    return kv.Call("fn", payload, 5s);
  }

  resources::testing::FakeContext fake_;
};

TEST_F(DurableKvTest, SetGetDelIncr) {
  auto kv = NewStore();
  ASSERT_NE(kv, nullptr);
  EXPECT_EQ(Call(*kv, "GET a").status().code(), Code::kNotFound);
  EXPECT_EQ(Call(*kv, "GET a").status().message(), "kv: no key \"a\"");
  EXPECT_EQ(*Call(*kv, "SET a hello world"), "OK");
  EXPECT_EQ(*Call(*kv, "GET a"), "hello world");
  EXPECT_EQ(*Call(*kv, "set a  two spaces"), "OK");
  EXPECT_EQ(*Call(*kv, "GET a"), " two spaces");
  EXPECT_EQ(*Call(*kv, "DEL a"), "1");
  EXPECT_EQ(*Call(*kv, "DEL a"), "0");
  EXPECT_EQ(Call(*kv, "GET a").status().code(), Code::kNotFound);

  EXPECT_EQ(*Call(*kv, "SET e"), "OK");
  EXPECT_EQ(*Call(*kv, "GET e"), "");
  std::string bin("SET b \0\xff\n\r x", 12);
  EXPECT_EQ(*Call(*kv, bin), "OK");
  EXPECT_EQ(*Call(*kv, "GET b"), std::string("\0\xff\n\r x", 6));

  EXPECT_EQ(*Call(*kv, "INCR n"), "1");
  EXPECT_EQ(*Call(*kv, "INCR n 41"), "42");
  EXPECT_EQ(*Call(*kv, "INCR n -50"), "-8");
  EXPECT_EQ(Call(*kv, "INCR b").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(*Call(*kv, "SET big 9223372036854775807"), "OK");
  EXPECT_EQ(Call(*kv, "INCR big").status().message(), "kv: INCR of \"big\" overflows int64");
  EXPECT_EQ(*Call(*kv, "DEL n"), "1");
  EXPECT_EQ(*Call(*kv, "INCR n"), "1") << "a deleted key counts from 0 again";
}

TEST_F(DurableKvTest, CastsAndBadCommands) {
  auto kv = NewStore();
  ASSERT_NE(kv, nullptr);
  EXPECT_TRUE(kv->Cast("fn", "SET a 1").ok());
  EXPECT_TRUE(kv->Cast("fn", "INCR a 2").ok());
  EXPECT_EQ(*Call(*kv, "GET a"), "3") << "a call sees the casts sent before it";
  EXPECT_TRUE(kv->Cast("fn", "DEL a").ok());
  EXPECT_EQ(Call(*kv, "GET a").status().code(), Code::kNotFound);
  // Refused at once, as the memory store refuses them.
  EXPECT_EQ(kv->Cast("fn", "GET a").code(), Code::kInvalidArgument);
  EXPECT_EQ(kv->Cast("fn", "KEYS").code(), Code::kInvalidArgument);
  EXPECT_EQ(kv->Cast("fn", "INCR x y").code(), Code::kInvalidArgument);
  for (const char* p : {"", "NOPE a", "GET", "SET", "DEL", "INCR", "GET  ", "GET a b"}) {
    EXPECT_EQ(Call(*kv, p).status().code(), Code::kInvalidArgument) << "[" << p << "]";
  }
  EXPECT_EQ(*Call(*kv, "SET " + std::string(kKvMaxKeyBytes, 'k') + " v"), "OK");
  EXPECT_TRUE(fake_.failures().empty());
}

// Keys with bytes JetStream does not allow in its keys ('.', '*', '>',
// ':', '=', spaces are not keys of ours anyway) come back as written, and
// KEYS sorts and filters the keys as they were written.
TEST_F(DurableKvTest, AnyKeyRoundTrips) {
  auto kv = NewStore();
  ASSERT_NE(kv, nullptr);
  const std::vector<std::string> keys = {"user:1",
                                         "user:2",
                                         "user.x",
                                         "a*b",
                                         "a>b",
                                         "=",
                                         "=41",
                                         "\xc3\xa9t\xc3\xa9",
                                         ".dot.",
                                         "tab\tkey",
                                         std::string("nul\0key", 7),
                                         "plain-key_/1"};
  for (const std::string& k : keys) {
    std::string set = "SET " + k;
    set += " v:" + k;
    ASSERT_EQ(*Call(*kv, set), "OK") << k;
  }
  for (const std::string& k : keys) EXPECT_EQ(*Call(*kv, "GET " + k), "v:" + k) << k;
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  std::string all;
  for (const std::string& k : sorted) {
    if (!all.empty()) all += '\n';
    all += k;
  }
  EXPECT_EQ(*Call(*kv, "KEYS"), all);
  EXPECT_EQ(*Call(*kv, "KEYS user"), "user.x\nuser:1\nuser:2");
  EXPECT_EQ(*Call(*kv, "KEYS user:"), "user:1\nuser:2");
  EXPECT_EQ(*Call(*kv, "KEYS ="), "=\n=41");
  EXPECT_EQ(*Call(*kv, "KEYS zzz"), "");
  EXPECT_EQ(*Call(*kv, "DEL user.x"), "1");
  EXPECT_EQ(*Call(*kv, "KEYS user"), "user:1\nuser:2");
}

TEST_F(DurableKvTest, Limits) {
  auto kv = NewStore({{"max_keys", "2"}, {"max_value_bytes", "4"}});
  ASSERT_NE(kv, nullptr);
  EXPECT_TRUE(Call(*kv, "SET a 1234").ok());
  EXPECT_EQ(Call(*kv, "SET a 12345").status().message(),
            "kv: the value is 5 bytes, over max_value_bytes 4");
  EXPECT_TRUE(Call(*kv, "SET b 1").ok());
  EXPECT_EQ(Call(*kv, "SET c 1").status().message(), "kv: the store holds max_keys 2 keys");
  EXPECT_EQ(Call(*kv, "INCR c").status().code(), Code::kResourceExhausted);
  EXPECT_TRUE(Call(*kv, "SET b 2").ok()) << "replacing a key needs no room";
  EXPECT_EQ(Call(*kv, "INCR b 99999").status().code(), Code::kResourceExhausted);
  EXPECT_EQ(*Call(*kv, "DEL b"), "1");
  EXPECT_TRUE(Call(*kv, "SET c 1").ok()) << "a deleted key leaves room";
}

// A bucket made with a smaller max_value_bytes takes the larger values
// of a configuration changed since.
TEST_F(DurableKvTest, TheBucketFollowsMaxValueBytes) {
  {
    auto small = NewStore({{"max_value_bytes", "8"}});
    ASSERT_NE(small, nullptr);
    EXPECT_TRUE(Call(*small, "SET a 1").ok());
    small->Stop();
  }
  auto large = NewStore({{"max_value_bytes", "64"}});
  ASSERT_NE(large, nullptr);
  EXPECT_EQ(*Call(*large, "SET a " + std::string(60, 'x')), "OK");
  EXPECT_EQ(*Call(*large, "GET a"), std::string(60, 'x'));
}

// Two instances of the component on two nodes, each with its own
// connection: no increment is lost.
TEST_F(DurableKvTest, ConcurrentIncrFromTwoStores) {
  auto a = NewStore();
  auto b = NewStore();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  constexpr int kThreads = 2;
  constexpr int kEach = 40;
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (Resource* kv : {a.get(), b.get()}) {
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([kv, &failed] {
        for (int i = 0; i < kEach; ++i) {
          if (!kv->Call("fn", "INCR c", 10s).ok()) ++failed;
        }
      });
    }
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(*Call(*a, "GET c"), std::to_string(2 * kThreads * kEach));
}

// The move: the instance stops (its node may be gone), a new one starts
// elsewhere, with a connection of its own, and finds the data.
TEST_F(DurableKvTest, ANewInstanceFindsTheData) {
  {
    auto first = NewStore();
    ASSERT_NE(first, nullptr);
    EXPECT_EQ(*Call(*first, "SET greeting hello"), "OK");
    EXPECT_EQ(*Call(*first, "INCR visits 7"), "7");
    EXPECT_TRUE(first->Cast("fn", "SET last cast").ok());
    EXPECT_EQ(*Call(*first, "KEYS"), "greeting\nlast\nvisits");
    first->Stop();
  }
  auto second = NewStore();
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(*Call(*second, "GET greeting"), "hello");
  EXPECT_EQ(*Call(*second, "INCR visits"), "8");
  EXPECT_EQ(*Call(*second, "GET last"), "cast");
}

// Another component (or workflow) has a bucket of its own.
TEST_F(DurableKvTest, ComponentsDoNotShare) {
  auto kv = NewStore();
  ASSERT_NE(kv, nullptr);
  EXPECT_EQ(*Call(*kv, "SET k mine"), "OK");
  ResourceContext ctx = fake_.Make({{"storage", "durable"}});
  ctx.component = "other";
  ctx.kv_buckets = KvBuckets::Create(Options());
  auto other = CreateResource("kv", std::move(ctx));
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  EXPECT_EQ(Call(**other, "GET k").status().code(), Code::kNotFound);
}

// NATS killed: commands fail at once with Unavailable (a call within its
// timeout, a cast counted as a failure), and work again, with the data,
// once it is back.
TEST_F(DurableKvTest, NatsKilledAndRestarted) {
  auto kv = NewStore();
  ASSERT_NE(kv, nullptr);
  EXPECT_EQ(*Call(*kv, "SET a 1"), "OK");
  server_->Kill();
  ASSERT_TRUE(
      Eventually([&] { return Call(*kv, "GET a").status().code() == Code::kUnavailable; }, 20s));
  auto started = std::chrono::steady_clock::now();
  Result<std::string> r = kv->Call("fn", "INCR a", 3s);
  EXPECT_FALSE(r.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - started, 4s) << "never past the caller's timeout";
  EXPECT_NE(r.status().message().find("kv: "), std::string::npos) << r.status().message();
  EXPECT_TRUE(kv->Cast("fn", "SET b 2").ok()) << "queued";
  EXPECT_TRUE(fake_.WaitFailures(1, 20s)) << "the cast's failure is reported";

  ASSERT_TRUE(server_->Restart().ok());
  ASSERT_TRUE(Eventually([&] { return Call(*kv, "GET a").ok(); }, 30s));
  EXPECT_EQ(*Call(*kv, "GET a"), "1");
  EXPECT_EQ(*Call(*kv, "INCR a"), "2");
}

// A store created while NATS is down connects once it is up.
TEST_F(DurableKvTest, NatsDownAtStart) {
  server_->Stop();
  auto kv = NewStore();
  ASSERT_NE(kv, nullptr);
  Result<std::string> r = Call(*kv, "GET a");
  EXPECT_EQ(r.status().code(), Code::kUnavailable) << r.status().ToString();
  ASSERT_TRUE(server_->Restart().ok());
  ASSERT_TRUE(Eventually([&] { return Call(*kv, "SET a 1").ok(); }, 30s));
  EXPECT_EQ(*Call(*kv, "GET a"), "1");
}

TEST(DurableKvConfigTest, NeedsNats) {
  resources::testing::FakeContext fake;
  auto r = CreateResource("kv", fake.Make({{"storage", "durable"}}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("[nats] urls"), std::string::npos) << r.status().message();
  EXPECT_TRUE(CreateResource("kv", fake.Make({{"storage", "memory"}})).ok());
}

TEST(JetStreamKvNamesTest, BucketNames) {
  EXPECT_EQ(*KvBucketName("aether", "wf-1", "counter"), "aether_kv_4_wf-1_counter");
  // '_' in names cannot make two components share a bucket.
  EXPECT_NE(*KvBucketName("p", "a_b", "c"), *KvBucketName("p", "a", "b_c"));
  EXPECT_EQ(KvBucketName("p", "Bad.Name", "c").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(KvBucketName("p", "wf", "").status().code(), Code::kInvalidArgument);
}

TEST(JetStreamKvNamesTest, KeysAreEncodedReversibly) {
  EXPECT_EQ(EncodeKvKey("plain-key_/1"), "plain-key_/1");
  EXPECT_EQ(EncodeKvKey("a.b=c:*"), "a=2Eb=3Dc=3A=2A");
  for (const std::string& k :
       {std::string("a.b=c:*"), std::string("\x00\xff", 2), std::string("=41")}) {
    EXPECT_EQ(DecodeKvKey(EncodeKvKey(k)), k);
  }
  EXPECT_EQ(DecodeKvKey("a.b"), std::nullopt) << "not written by us";
  EXPECT_EQ(DecodeKvKey("=4"), std::nullopt);
  EXPECT_EQ(DecodeKvKey("=zz"), std::nullopt);
}

}  // namespace
}  // namespace aether::workflow::resources
