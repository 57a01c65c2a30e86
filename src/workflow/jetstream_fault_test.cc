// The JetStream event log when things go wrong: the server killed -9 and
// restarted, Close() during a Fetch, refused credentials, bad names and
// options. jetstream_log_test.cc has the normal path.
#include <set>
#include <thread>
#include <vector>

#include "workflow/internal/nats_connection.h"
#include "workflow/jetstream_log.h"
#include "workflow/jetstream_test_util.h"

namespace aether::workflow::testing {
namespace {

using Clock = std::chrono::steady_clock;

TEST_F(JetStreamTest, CloseUnblocksAFetch) {
  auto log = Connect();
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->EnsureWorkflow("wf").ok());
  auto sub = Subscribe(*log, "wf", "sink");
  ASSERT_NE(sub, nullptr);
  Status fetched;
  Clock::time_point returned;
  std::thread waiter([&] {
    auto r = sub->Fetch(1, 60s);
    returned = Clock::now();
    fetched = r.status();
  });
  // Close while the Fetch waits on the server (its pull request is there).
  ASSERT_TRUE(Eventually([&] { return Look("aether_wf_wf", "sink").waiting_pulls > 0; }));
  auto closed = Clock::now();
  sub->Close();
  waiter.join();
  EXPECT_EQ(fetched.code(), Code::kFailedPrecondition) << fetched.ToString();
  EXPECT_LT(returned - closed, 10s);  // not the 60 s it asked for
  EXPECT_EQ(sub->Fetch(1, 1s).status().code(), Code::kFailedPrecondition);
  sub->Close();  // twice is fine

  // The consumer outlives its subscriptions: events wait for the next one.
  ASSERT_TRUE(Append(*log, "wf", "sink", "after-close").ok());
  auto next = Subscribe(*log, "wf", "sink");
  ASSERT_NE(next, nullptr);
  EXPECT_EQ(Ids(FetchN(*next, 1)), std::vector<std::string>{"after-close"});
}

TEST_F(JetStreamTest, EventsSurviveAServerKilledAndRestarted) {
  auto log = Connect();
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->EnsureWorkflow("wf").ok());
  for (std::string id : {"a", "b", "c"}) ASSERT_TRUE(Append(*log, "wf", "sink", id).ok());
  auto sub = Subscribe(*log, "wf", "sink");
  ASSERT_NE(sub, nullptr);

  server_->Kill();
  // While it is away: a Fetch answers Unavailable soon (not after its
  // wait), an Append by its deadline.
  ASSERT_TRUE(Eventually([&] {
    auto r = sub->Fetch(1, 100ms);
    return !r.ok() && r.status().code() == Code::kUnavailable;
  }));
  auto start = Clock::now();
  auto r = sub->Fetch(1, 30s);
  EXPECT_EQ(r.status().code(), Code::kUnavailable) << r.status().ToString();
  EXPECT_LT(Clock::now() - start, 5s);
  start = Clock::now();
  Status s = Append(*log, "wf", "sink", "during", "p", 700ms);
  EXPECT_EQ(s.code(), Code::kUnavailable) << s.ToString();
  EXPECT_LT(Clock::now() - start, 5s);

  // Same port, same store: the client reconnects by itself and the events
  // appended before the kill are there (file storage).
  ASSERT_TRUE(server_->Restart().ok()) << server_->Log();
  Deliveries got;
  ASSERT_TRUE(Eventually(
      [&] {
        auto f = sub->Fetch(10, 200ms);
        if (f.ok()) {
          for (auto& d : *f) got.push_back(std::move(d));
        }
        return got.size() >= 3;
      },
      30s));
  std::set<std::string> ids;
  for (const auto& d : got) {
    ids.insert(d->event().id);
    EXPECT_TRUE(d->Ack().ok());
  }
  // "during" may be there too: the client sends what it buffered while
  // disconnected once it is back (its id makes a retry harmless).
  for (std::string id : {"a", "b", "c"}) EXPECT_TRUE(ids.count(id)) << id;
  EXPECT_TRUE(Append(*log, "wf", "sink", "after").ok());
  std::vector<std::string> after;
  for (auto& d : FetchN(*sub, 1)) after.push_back(d->event().id);
  if (!after.empty() && after[0] == "during") after = Ids(FetchN(*sub, 1));
  EXPECT_EQ(after, std::vector<std::string>{"after"});
}

TEST_F(JetStreamTest, AConsumerDeletedUnderASubscriptionIsCreatedAgain) {
  JetStreamOptions o = Options();
  o.consumer_check_interval = 100ms;
  auto log = Connect(o);
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->EnsureWorkflow("wf").ok());
  auto sub = Subscribe(*log, "wf", "sink");
  ASSERT_NE(sub, nullptr);
  WithJetStream([](jsCtx* js) {
    EXPECT_EQ(js_DeleteConsumer(js, "aether_wf_wf", "sink", nullptr, nullptr), NATS_OK);
  });
  ASSERT_TRUE(Append(*log, "wf", "sink", "e1").ok());
  EXPECT_EQ(Ids(FetchN(*sub, 1)), std::vector<std::string>{"e1"});
}

TEST_F(JetStreamTest, FetchAnswersNotFoundOnceTheStreamIsGone) {
  JetStreamOptions o = Options();
  o.consumer_check_interval = 100ms;
  auto log = Connect(o);
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->EnsureWorkflow("wf").ok());
  auto sub = Subscribe(*log, "wf", "sink");
  ASSERT_NE(sub, nullptr);
  ASSERT_TRUE(log->DropWorkflow("wf").ok());
  Status last;
  EXPECT_TRUE(Eventually([&] {
    last = sub->Fetch(1, 50ms).status();
    return last.code() == Code::kNotFound;
  })) << last.ToString();
}

TEST_F(JetStreamTest, WrongCredentialsAreAClearError) {
  server_.reset();
  aether::testing::NatsServerOptions auth;
  auth.user = "engine";
  auth.password = "s3cret-pass";
  StartServer(auth);
  JetStreamOptions o = Options();
  o.user = "engine";
  o.password = "wrong-pass";
  auto bad = ConnectJetStream(o);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kUnauthenticated) << bad.status().ToString();
  EXPECT_NE(bad.status().message().find("[nats] user/password or token"), std::string::npos)
      << bad.status().message();
  EXPECT_EQ(bad.status().message().find("wrong-pass"), std::string::npos);

  o.user.clear();
  o.password.clear();
  auto none = ConnectJetStream(o);
  EXPECT_EQ(none.status().code(), Code::kUnauthenticated) << none.status().ToString();

  o.user = "engine";
  o.password = "s3cret-pass";
  auto log = Connect(o);
  ASSERT_NE(log, nullptr);
  EXPECT_TRUE(log->EnsureWorkflow("wf").ok());
}

TEST_F(JetStreamTest, NoServerIsUnavailable) {
  JetStreamOptions o = Options();
  server_->Stop();
  o.connect_timeout = 500ms;
  auto log = ConnectJetStream(o);
  EXPECT_EQ(log.status().code(), Code::kUnavailable) << log.status().ToString();
}

TEST_F(JetStreamTest, BadNamesAreInvalidArguments) {
  auto log = Connect();
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->EnsureWorkflow("wf").ok());
  auto deadline = Clock::now() + 5s;
  for (std::string_view name : std::vector<std::string_view>{"", "Upper", "a.b", "a*", "a>", "a b",
                                                             "-x", std::string_view("a\0b", 3)}) {
    EXPECT_EQ(log->EnsureWorkflow(name).code(), Code::kInvalidArgument) << name;
    EXPECT_EQ(log->DropWorkflow(name).code(), Code::kInvalidArgument) << name;
    EXPECT_EQ(log->Append(name, "sink", {"id", "src", "p"}, deadline).code(),
              Code::kInvalidArgument)
        << name;
    EXPECT_EQ(log->Append("wf", name, {"id", "src", "p"}, deadline).code(), Code::kInvalidArgument)
        << name;
    EXPECT_EQ(log->Subscribe("wf", name).status().code(), Code::kInvalidArgument) << name;
  }
  for (const std::string& id :
       std::vector<std::string>{"", "a.b", "a b", "a*", "x>", std::string(65, 'a'), "a\nb"}) {
    Status s = log->Append("wf", "sink", {id, "src", "p"}, deadline);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << id << ": " << s.ToString();
  }
  for (const std::string& source :
       std::vector<std::string>{"a.b", "a b", "a*", "x>", std::string(256, 's'), "a\r\nb"}) {
    Status s = log->Append("wf", "sink", {"id", source, "p"}, deadline);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << source << ": " << s.ToString();
  }
  // Nothing of that reached the stream.
  EXPECT_EQ(Look("aether_wf_wf").messages, 0u);
  EXPECT_TRUE(
      log->Append("wf", "sink", {std::string(64, 'A'), std::string(255, 's'), ""}, deadline).ok());
  EXPECT_EQ(log->Append("wf", "sink", {"late", "src", "p"}, Clock::now() - 1s).code(),
            Code::kUnavailable);
}

TEST_F(JetStreamTest, AnEventOverTheServersMaxPayloadIsRefused) {
  auto log = Connect();
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->EnsureWorkflow("wf").ok());
  Status s = Append(*log, "wf", "sink", "huge", std::string(2 << 20, 'x'));
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.ToString();
}

TEST_F(JetStreamTest, AnUnreadableCaFileIsAClearError) {
  JetStreamOptions o = Options();
  o.ca_file = store_ / "missing-ca.pem";
  auto log = ConnectJetStream(o);
  EXPECT_EQ(log.status().code(), Code::kInvalidArgument) << log.status().ToString();
  EXPECT_NE(log.status().message().find("ca_file"), std::string::npos);
}

TEST(JetStreamOptionsTest, BadOptionsAreNamed) {
  auto check = [](auto change, std::string_view key) {
    JetStreamOptions o;
    o.urls = {"nats://127.0.0.1:4222"};
    change(o);
    Status s = ValidateJetStreamOptions(o);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << key;
    EXPECT_NE(s.message().find(key), std::string::npos) << s.message();
    if (!o.password.empty()) {
      EXPECT_EQ(s.message().find(o.password), std::string::npos);
    }
  };
  check([](JetStreamOptions& o) { o.urls.clear(); }, "urls");
  check([](JetStreamOptions& o) { o.urls = {"nats://a b"}; }, "urls");
  check([](JetStreamOptions& o) { o.urls = {"nats://u:hunter2@h:4222"}; }, "urls");
  check([](JetStreamOptions& o) { o.password = "pw-only"; }, "password");
  check(
      [](JetStreamOptions& o) {
        o.user = "u";
        o.token = "t";
      },
      "token");
  check([](JetStreamOptions& o) { o.cert_file = "c.pem"; }, "key_file");
  check([](JetStreamOptions& o) { o.prefix = "a.b"; }, "prefix");
  check([](JetStreamOptions& o) { o.prefix = ""; }, "prefix");
  check([](JetStreamOptions& o) { o.replicas = 0; }, "replicas");
  check([](JetStreamOptions& o) { o.replicas = 6; }, "replicas");
  check([](JetStreamOptions& o) { o.max_age = 0ms; }, "max_age");
  check([](JetStreamOptions& o) { o.max_bytes = 0; }, "max_bytes");
  check([](JetStreamOptions& o) { o.dedup_window = 25h; }, "dedup_window");
  check([](JetStreamOptions& o) { o.ack_wait = 0ms; }, "ack_wait");
  check([](JetStreamOptions& o) { o.max_deliver = 0; }, "max_deliver");
  check([](JetStreamOptions& o) { o.max_ack_pending = 0; }, "max_ack_pending");
  check([](JetStreamOptions& o) { o.connect_timeout = 0ms; }, "connect_timeout");

  JetStreamOptions ok;
  ok.urls = {"nats://127.0.0.1:4222", "tls://nats-2.example:4222"};
  EXPECT_TRUE(ValidateJetStreamOptions(ok).ok());
}

TEST(NatsCodeTest, MapsStatusesOntoOurCodes) {
  using internal::NatsCode;
  EXPECT_EQ(NatsCode(NATS_ERR, JSStreamNotFoundErr, ""), Code::kNotFound);
  EXPECT_EQ(NatsCode(NATS_ERR, JSStreamStoreFailedErr, "maximum bytes exceeded"),
            Code::kResourceExhausted);
  EXPECT_EQ(NatsCode(NATS_ERR, JSStreamStoreFailedErr, "maximum messages exceeded"),
            Code::kResourceExhausted);
  EXPECT_EQ(NatsCode(NATS_ERR, JSStreamStoreFailedErr, "disk broke"), Code::kInternal);
  EXPECT_EQ(NatsCode(NATS_TIMEOUT, jsErrCode(0), ""), Code::kUnavailable);
  EXPECT_EQ(NatsCode(NATS_NO_SERVER, jsErrCode(0), ""), Code::kUnavailable);
  EXPECT_EQ(NatsCode(NATS_NO_RESPONDERS, jsErrCode(0), ""), Code::kUnavailable);
  EXPECT_EQ(NatsCode(NATS_CONNECTION_AUTH_FAILED, jsErrCode(0), ""), Code::kUnauthenticated);
  EXPECT_EQ(NatsCode(NATS_ERR, jsErrCode(0), "'Authorization Violation'"), Code::kUnauthenticated);
  EXPECT_EQ(NatsCode(NATS_ERR, JSNotEnabledErr, ""), Code::kFailedPrecondition);
  EXPECT_EQ(NatsCode(NATS_ERR, jsErrCode(0), "something"), Code::kInternal);
}

TEST(NatsCodeTest, UserInfoIsCutFromUrls) {
  using internal::WithoutUserInfo;
  EXPECT_EQ(WithoutUserInfo("nats://u:pw@host:4222"), "nats://host:4222");
  EXPECT_EQ(WithoutUserInfo("token@host:4222"), "host:4222");
  EXPECT_EQ(WithoutUserInfo("nats://host:4222"), "nats://host:4222");
  EXPECT_EQ(WithoutUserInfo("nats://host:4222/a@b"), "nats://host:4222/a@b");
}

}  // namespace
}  // namespace aether::workflow::testing
