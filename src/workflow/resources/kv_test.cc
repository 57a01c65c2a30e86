#include "workflow/resources/kv.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

namespace aether::workflow::resources {
namespace {

using namespace std::chrono_literals;

class KvTest : public ::testing::Test {
 protected:
  Result<std::string> Call(std::string_view payload) { return kv_->Call("fn", payload, 1s); }
  std::unique_ptr<Resource> kv_ = NewKv(KvConfig{});
};

TEST_F(KvTest, SetGetDel) {
  EXPECT_EQ(Call("GET a").status().code(), Code::kNotFound);
  EXPECT_EQ(*Call("SET a hello world"), "OK");
  EXPECT_EQ(*Call("GET a"), "hello world");
  EXPECT_EQ(*Call("set a  two spaces"), "OK") << "command words in any case";
  EXPECT_EQ(*Call("GET a"), " two spaces") << "the value is everything after the second space";
  EXPECT_EQ(*Call("DEL a"), "1");
  EXPECT_EQ(*Call("DEL a"), "0");
  EXPECT_EQ(Call("GET a").status().code(), Code::kNotFound);
}

TEST_F(KvTest, EmptyAndBinaryValues) {
  EXPECT_EQ(*Call("SET e "), "OK");
  EXPECT_EQ(*Call("GET e"), "");
  EXPECT_EQ(*Call("SET e2"), "OK");
  EXPECT_EQ(*Call("GET e2"), "");
  std::string bin("SET b \0\xff\n\r x", 12);
  EXPECT_EQ(*Call(bin), "OK");
  EXPECT_EQ(*Call("GET b"), std::string("\0\xff\n\r x", 6));
}

TEST_F(KvTest, Incr) {
  EXPECT_EQ(*Call("INCR n"), "1");
  EXPECT_EQ(*Call("INCR n 41"), "42");
  EXPECT_EQ(*Call("INCR n -50"), "-8");
  EXPECT_EQ(*Call("INCR n +8"), "0");
  EXPECT_EQ(*Call("GET n"), "0");
  EXPECT_EQ(Call("INCR n x").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Call("INCR n 1.5").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Call("INCR n +-1").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(*Call("SET s abc"), "OK");
  EXPECT_EQ(Call("INCR s").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(*Call("SET big 9223372036854775807"), "OK");
  EXPECT_EQ(Call("INCR big").status().code(), Code::kInvalidArgument) << "overflow";
  EXPECT_EQ(*Call("GET big"), "9223372036854775807");
}

TEST_F(KvTest, Keys) {
  EXPECT_EQ(*Call("KEYS"), "");
  for (const char* k : {"user:2", "user:1", "order:9", "user"}) {
    ASSERT_TRUE(Call(std::string("SET ") + k + " v").ok());
  }
  EXPECT_EQ(*Call("KEYS"), "order:9\nuser\nuser:1\nuser:2");
  EXPECT_EQ(*Call("KEYS user:"), "user:1\nuser:2");
  EXPECT_EQ(*Call("KEYS zzz"), "");
}

TEST_F(KvTest, KeysIsBounded) {
  auto kv = NewKv(KvConfig{.max_keys = 5000, .max_value_bytes = 16});
  for (size_t i = 0; i < kKvMaxKeysListed + 50; ++i) {
    ASSERT_TRUE(kv->Cast("fn", "SET k" + std::to_string(10000 + i) + " v").ok());
  }
  auto r = kv->Call("fn", "KEYS k", 1s);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(static_cast<size_t>(std::count(r->begin(), r->end(), '\n')) + 1, kKvMaxKeysListed);
}

TEST_F(KvTest, BadCommandsAndKeys) {
  for (const char* p : {"", "NOPE a", "GET", "SET", "DEL", "INCR", "GET  ", "SET  v", "GET a b"}) {
    EXPECT_EQ(Call(p).status().code(), Code::kInvalidArgument) << "[" << p << "]";
  }
  EXPECT_EQ(Call("GET " + std::string(kKvMaxKeyBytes + 1, 'k')).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(*Call("SET " + std::string(kKvMaxKeyBytes, 'k') + " v"), "OK");
  EXPECT_EQ(Call("GET a\nb").status().code(), Code::kInvalidArgument);
}

TEST_F(KvTest, Limits) {
  auto kv = NewKv(KvConfig{.max_keys = 2, .max_value_bytes = 4});
  EXPECT_TRUE(kv->Call("fn", "SET a 1234", 1s).ok());
  EXPECT_EQ(kv->Call("fn", "SET a 12345", 1s).status().code(), Code::kResourceExhausted);
  EXPECT_TRUE(kv->Call("fn", "SET b 1", 1s).ok());
  EXPECT_EQ(kv->Call("fn", "SET c 1", 1s).status().code(), Code::kResourceExhausted);
  EXPECT_EQ(kv->Call("fn", "INCR c", 1s).status().code(), Code::kResourceExhausted);
  EXPECT_TRUE(kv->Call("fn", "SET b 2", 1s).ok()) << "replacing a key needs no room";
  EXPECT_EQ(kv->Call("fn", "INCR b 99999", 1s).status().code(), Code::kResourceExhausted)
      << "the result is over max_value_bytes";
  EXPECT_EQ(*kv->Call("fn", "DEL b", 1s), "1");
  EXPECT_TRUE(kv->Call("fn", "SET c 1", 1s).ok());
}

TEST_F(KvTest, Casts) {
  EXPECT_TRUE(kv_->Cast("fn", "SET a 1").ok());
  EXPECT_TRUE(kv_->Cast("fn", "INCR a 2").ok());
  EXPECT_EQ(*Call("GET a"), "3");
  EXPECT_TRUE(kv_->Cast("fn", "DEL a").ok());
  EXPECT_EQ(Call("GET a").status().code(), Code::kNotFound);
  EXPECT_EQ(kv_->Cast("fn", "GET a").code(), Code::kInvalidArgument);
  EXPECT_EQ(kv_->Cast("fn", "KEYS").code(), Code::kInvalidArgument);
  EXPECT_EQ(kv_->Cast("fn", "INCR x y").code(), Code::kInvalidArgument);
}

TEST_F(KvTest, ConcurrentIncr) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([this] {
      for (int i = 0; i < 1000; ++i) EXPECT_TRUE(kv_->Cast("fn", "INCR c").ok());
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(*Call("GET c"), "4000");
  kv_->Stop();
  kv_->Stop();
}

}  // namespace
}  // namespace aether::workflow::resources
