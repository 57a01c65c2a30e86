#include "workflow/resources/redis.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "common/testing/fake_clock.h"
#include "process.h"
#include "workflow/resources/test_context.h"

extern char** environ;

namespace aether::workflow::resources {
namespace {

using namespace std::chrono_literals;
using aether::testing::FakeClock;
using aether::testing::FreePort;
using testing::FakeContext;

constexpr const char* kRedisServer = "/usr/bin/redis-server";

// A direct hiredis connection for checking what the resource wrote.
class Client {
 public:
  explicit Client(uint16_t port) {
    timeval tv{1, 0};
    c_ = redisConnectWithTimeout("127.0.0.1", port, tv);
  }
  ~Client() {
    if (c_ != nullptr) redisFree(c_);
  }
  bool ok() const { return c_ != nullptr && c_->err == 0; }
  // The string reply, "(nil)", or "(error ...)".
  std::string Command(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* r = static_cast<redisReply*>(
        redisCommandArgv(c_, static_cast<int>(args.size()), argv.data(), lens.data()));
    if (r == nullptr) return "(error " + std::string(c_->errstr) + ")";
    std::string out;
    if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) {
      out.assign(r->str, r->len);
    } else if (r->type == REDIS_REPLY_NIL) {
      out = "(nil)";
    } else if (r->type == REDIS_REPLY_INTEGER) {
      out = std::to_string(r->integer);
    } else if (r->type == REDIS_REPLY_ARRAY) {
      for (size_t i = 0; i < r->elements; ++i) {
        if (i > 0) out += ",";
        out.append(r->element[i]->str, r->element[i]->len);
      }
    } else {
      out = "(error " + std::string(r->str, r->len) + ")";
    }
    freeReplyObject(r);
    return out;
  }

 private:
  redisContext* c_ = nullptr;
};

// Starts redis-server on a free port; the fixture's TearDown kills it by
// PID, whatever the test's outcome.
class RedisTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(kRedisServer, X_OK) != 0) {
      GTEST_SKIP() << kRedisServer << " is not installed (apt-get install redis-server)";
    }
    port_ = FreePort();
    ASSERT_NE(port_, 0);
  }
  void TearDown() override { StopServer(); }

  void StartServer() {
    std::string port = std::to_string(port_);
    std::vector<std::string> args = {kRedisServer, "--port",
                                     port,         "--bind",
                                     "127.0.0.1",  "--save",
                                     "",           "--appendonly",
                                     "no",         "--daemonize",
                                     "no",         "--loglevel",
                                     "warning",    "--enable-debug-command",
                                     "local"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    int rc = posix_spawn(&pid_, kRedisServer, &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ASSERT_EQ(rc, 0) << "cannot start redis-server";
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      Client c(port_);
      if (c.ok() && c.Command({"PING"}) == "PONG") return;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = 0;
        FAIL() << "redis-server exited at start (port " << port_ << " taken?)";
      }
      std::this_thread::sleep_for(20ms);
    }
    FAIL() << "redis-server did not accept connections within 10 s";
  }

  void StopServer() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = 0;
  }

  RedisConfig Config(std::string key = "aether:test", bool rpush = false) {
    RedisConfig c;
    c.host = "127.0.0.1";
    c.port = port_;
    c.key = std::move(key);
    c.rpush = rpush;
    return c;
  }

  uint16_t port_ = 0;
  pid_t pid_ = 0;
  FakeContext fake_;
};

TEST_F(RedisTest, CallSetsTheKeyBinarySafe) {
  StartServer();
  auto res = NewRedis(fake_.Make(), Config());
  std::string payload("bin\0ary\r\n %s %b", 16);
  auto r = res->Call("fn", payload, 5s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "OK");
  Client c(port_);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c.Command({"GET", "aether:test"}), payload);
  res->Stop();
  res->Stop();
}

TEST_F(RedisTest, AddWorkflowIdPrefixesTheKey) {
  StartServer();
  RedisConfig config = Config("counter");
  config.add_workflow_id = true;
  ResourceContext ctx = fake_.Make();
  ctx.workflow = "wf-1a2b3c4d";
  auto res = NewRedis(std::move(ctx), config);
  ASSERT_TRUE(res->Call("fn", "7", 5s).ok());
  Client c(port_);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c.Command({"GET", "wf-1a2b3c4d:counter"}), "7");
  res->Stop();
}

// EDGELESS's redis: a call GETs the key it carries, casts still SET.
TEST_F(RedisTest, CallGetReadsTheKeyTheCallNames) {
  StartServer();
  RedisConfig config = Config("counter");
  config.add_workflow_id = true;
  config.call_get = true;
  ResourceContext ctx = fake_.Make();
  ctx.workflow = "wf-1a2b3c4d";
  auto res = NewRedis(std::move(ctx), config);
  ASSERT_TRUE(res->Cast("fn", std::string("v\0 1", 4)).ok());
  auto r = res->Call("fn", "counter", 5s);  // after the cast: same queue
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, std::string("v\0 1", 4));
  Client c(port_);
  ASSERT_TRUE(c.ok());
  c.Command({"SET", "wf-1a2b3c4d:other", "x"});
  c.Command({"SET", "other", "not this one"});
  r = res->Call("fn", "other", 5s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "x");

  r = res->Call("fn", "missing", 5s);
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_NE(r.status().message().find("wf-1a2b3c4d:missing"), std::string::npos)
      << r.status().message();
  r = res->Call("fn", std::string(kMaxRedisKeyBytes + 1, 'k'), 5s);
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  res->Stop();
}

TEST_F(RedisTest, WithoutAKeyCastsFailAndGetCallsWork) {
  StartServer();
  RedisConfig config = Config("");
  config.call_get = true;
  auto res = NewRedis(fake_.Make(), config);
  ASSERT_TRUE(res->Cast("fn", "lost").ok());  // queued: fails on the worker
  Client c(port_);
  ASSERT_TRUE(c.ok());
  c.Command({"SET", "k", "v"});
  auto r = res->Call("fn", "k", 5s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "v");
  ASSERT_EQ(fake_.failures().size(), 1u);
  EXPECT_NE(fake_.failures()[0].find("has none"), std::string::npos) << fake_.failures()[0];
  res->Stop();
}

TEST_F(RedisTest, CastsAreWrittenInOrder) {
  StartServer();
  auto res = NewRedis(fake_.Make(), Config("aether:list", /*rpush=*/true));
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(res->Cast("fn", "e" + std::to_string(i)).ok());
  // A call runs after the casts before it: its reply is the list length.
  auto r = res->Call("fn", "last", 5s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "101");
  Client c(port_);
  EXPECT_EQ(c.Command({"LINDEX", "aether:list", "0"}), "e0");
  EXPECT_EQ(c.Command({"LINDEX", "aether:list", "99"}), "e99");
  EXPECT_TRUE(fake_.failures().empty());
}

TEST_F(RedisTest, RedisErrorIsReported) {
  StartServer();
  Client c(port_);
  ASSERT_EQ(c.Command({"SET", "aether:str", "x"}), "OK");
  auto res = NewRedis(fake_.Make(), Config("aether:str", /*rpush=*/true));
  auto r = res->Call("fn", "v", 5s);
  EXPECT_EQ(r.status().code(), Code::kInternal);
  EXPECT_NE(r.status().message().find("WRONGTYPE"), std::string::npos) << r.status().message();
  ASSERT_TRUE(res->Cast("fn", "v").ok());
  ASSERT_TRUE(fake_.WaitFailures(1));
}

TEST_F(RedisTest, DownIsAnErrorNotAHang) {
  auto res = NewRedis(fake_.Make(), Config());  // nothing listens on port_
  auto start = std::chrono::steady_clock::now();
  auto r = res->Call("fn", "x", 5s);
  EXPECT_EQ(r.status().code(), Code::kUnavailable) << r.status().ToString();
  // Within the backoff, commands fail at once.
  auto again = res->Call("fn", "x", 5s);
  EXPECT_EQ(again.status().code(), Code::kUnavailable);
  EXPECT_NE(again.status().message().find("next attempt"), std::string::npos)
      << again.status().message();
  ASSERT_TRUE(res->Cast("fn", "x").ok()) << "the cast is queued";
  ASSERT_TRUE(fake_.WaitFailures(1));
  EXPECT_NE(fake_.failures()[0].find("cannot connect"), std::string::npos) << fake_.failures()[0];
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  start = std::chrono::steady_clock::now();
  res->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST_F(RedisTest, ServerStartingLaterWorks) {
  FakeClock clock;  // the reconnect backoff moves by hand
  fake_.clock = &clock;
  auto res = NewRedis(fake_.Make(), Config());
  EXPECT_EQ(res->Call("fn", "early", 5s).status().code(), Code::kUnavailable);
  StartServer();
  // Within the backoff no attempt is made, even though the server is up.
  auto r = res->Call("fn", "late", 5s);
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_NE(r.status().message().find("next attempt"), std::string::npos) << r.status().message();
  clock.Advance(kRedisMinBackoff);
  r = res->Call("fn", "late", 5s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  Client c(port_);
  EXPECT_EQ(c.Command({"GET", "aether:test"}), "late");
}

TEST_F(RedisTest, ConnectAttemptsBackOffDoublingUpToTheMax) {
  FakeClock clock;
  fake_.clock = &clock;
  auto res = NewRedis(fake_.Make(), Config());  // nothing listens on port_
  // True when the call tried to connect (rather than failing at once
  // within the backoff).
  auto attempted = [&] {
    auto r = res->Call("fn", "x", 5s);
    EXPECT_EQ(r.status().code(), Code::kUnavailable) << r.status().ToString();
    return r.status().message().find("next attempt") == std::string::npos;
  };
  ASSERT_TRUE(attempted());
  auto backoff = kRedisMinBackoff;
  for (int i = 0; i < 8; ++i) {
    clock.Advance(backoff - 1ms);
    EXPECT_FALSE(attempted()) << "attempt " << i << " came early";
    clock.Advance(1ms);
    EXPECT_TRUE(attempted()) << "attempt " << i << " after " << backoff.count() << " ms";
    backoff = std::min(backoff * 2, kRedisMaxBackoff);
  }
  EXPECT_EQ(backoff, kRedisMaxBackoff);
  // A success resets the backoff.
  StartServer();
  clock.Advance(kRedisMaxBackoff);
  ASSERT_TRUE(res->Call("fn", "up", 5s).ok());
  StopServer();
  EXPECT_TRUE(attempted()) << "the broken connection is retried at once";
  clock.Advance(kRedisMinBackoff - 1ms);
  EXPECT_FALSE(attempted());
  clock.Advance(1ms);
  EXPECT_TRUE(attempted()) << "back to the minimum backoff after a success";
}

TEST_F(RedisTest, ReconnectsAfterAServerRestart) {
  StartServer();
  auto res = NewRedis(fake_.Make(), Config());
  ASSERT_TRUE(res->Call("fn", "one", 5s).ok());
  StopServer();
  StartServer();  // same port
  auto r = res->Call("fn", "two", 5s);
  ASSERT_TRUE(r.ok()) << "the broken connection is retried once: " << r.status().ToString();
  Client c(port_);
  EXPECT_EQ(c.Command({"GET", "aether:test"}), "two");
}

TEST_F(RedisTest, CallTimeout) {
  StartServer();
  Client blocker(port_);
  auto res = NewRedis(fake_.Make(), Config());
  ASSERT_TRUE(res->Call("fn", "warm", 5s).ok());
  // Make the server busy for a while; the resource's call gives up first.
  std::thread busy([&] { blocker.Command({"DEBUG", "SLEEP", "0.5"}); });
  // Lets DEBUG SLEEP reach the server first; a busy server answers nothing
  // that could tell us so.
  std::this_thread::sleep_for(50ms);
  auto start = std::chrono::steady_clock::now();
  auto r = res->Call("fn", "x", 100ms);
  EXPECT_EQ(r.status().code(), Code::kDeadlineExceeded) << r.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 400ms);
  busy.join();
}

}  // namespace
}  // namespace aether::workflow::resources
