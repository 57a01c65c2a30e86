// The portal resource against a real local HTTP server standing in for the
// other domain's portal ingress (127.0.0.1, port 0).
#include "workflow/resources/portal.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/http_server.h"
#include "common/testing/eventually.h"
#include "common/testing/fake_clock.h"
#include "workflow/portal_codec.h"
#include "workflow/resources/test_context.h"

namespace aether::workflow::resources {
namespace {

using namespace std::chrono_literals;
using aether::testing::Eventually;
using testing::FakeContext;

const std::string kLinkToken(64, 'a');

// The process's portal counters now, to compare before and after.
struct PortalCounts {
  uint64_t sent, refused, dropped, batches, calls_ok, calls_error, link_errors;
  static PortalCounts Now() {
    const PortalCounters& c = GlobalPortalCounters();
    return {c.events_sent.load(), c.events_refused.load(), c.events_dropped.load(),
            c.batches.load(),     c.calls_ok.load(),       c.calls_error.load(),
            c.link_errors.load()};
  }
};

// One request as the server saw it.
struct SeenRequest {
  std::string path, mode, token, timeout_ms, content_type;
  std::vector<std::string> events;  // a batch's, decoded
  std::string body;
};

// The other domain: POST /wf/... answers a batch with {"accepted":N}, or
// with a 503 after `take_next` events (once), or with `fail_status` while
// it is set; a call ("X-Aether-Portal: call") by its payload: "ok:<x>" ->
// 200 "reply:<x>", "hold" -> held until the test releases, "504", "502",
// "503", "full", "403" -> that error.
class PortalServerTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer(0); }
  void TearDown() override {
    Release();
    if (server_) server_->Stop();
  }

  void StartServer(uint16_t port) {
    HttpServerOptions o;
    o.port = port;
    server_ = std::make_unique<HttpServer>(o);
    server_->RoutePrefix("POST", "/wf/",
                         [this](HttpRequest&& req, Responder respond) { Handle(req, respond); });
    Status st = server_->Start();
    ASSERT_TRUE(st.ok()) << st.ToString();
    port_ = server_->port();
  }
  void StopServer() {
    server_->Stop();
    server_.reset();
  }

  void Handle(const HttpRequest& req, Responder& respond) {
    std::unique_lock lock(mu_);
    SeenRequest seen{req.path,
                     std::string(req.Header("X-Aether-Portal")),
                     std::string(req.Header("X-Aether-Portal-Token")),
                     std::string(req.Header("X-Aether-Timeout-Ms")),
                     std::string(req.Header("Content-Type")),
                     {},
                     req.body};
    if (seen.mode == "call") {
      seen_.push_back(seen);
      cv_.notify_all();
      const std::string& p = req.body;
      if (p == "hold") {
        held_.push_back(std::move(respond));
        cv_.notify_all();
        return;
      }
      lock.unlock();
      if (p.starts_with("ok:")) {
        respond(HttpResponse{200, "application/octet-stream", "reply:" + p.substr(3), {}});
      } else if (p == "504") {
        respond(JsonError(504, "timeout", "the call timed out"));
      } else if (p == "502") {
        respond(JsonError(502, "target_failed", "handler trapped: unreachable"));
      } else if (p == "503") {
        respond(JsonError(503, "unavailable", "not running"));
      } else if (p == "full") {
        respond(JsonError(503, "full", "mailbox full"));
      } else {
        respond(JsonError(403, "permission_denied", "wrong token"));
      }
      return;
    }
    auto events = DecodePortalBatch(req.body);
    EXPECT_TRUE(events.ok()) << events.status().ToString();
    if (events.ok()) seen.events.assign(events->begin(), events->end());
    seen_.push_back(seen);
    cv_.notify_all();
    if (fail_status_ != 0) {
      respond(JsonError(fail_status_, "not_found", "no http-ingress for it on this node"));
      return;
    }
    size_t n = seen.events.size();
    size_t take = std::min(n, take_next_);
    take_next_ = SIZE_MAX;
    delivered_.insert(delivered_.end(), seen.events.begin(), seen.events.begin() + take);
    cv_.notify_all();
    if (take < n) {
      refused_at_ = seen_.size() - 1;
      respond(HttpResponse{
          503,
          "application/json",
          R"({"error":"the target is full","code":"full","accepted":)" + std::to_string(take) + "}",
          {{"Retry-After", "1"}}});
      return;
    }
    respond(HttpResponse{200, "application/json", R"({"accepted":)" + std::to_string(n) + "}", {}});
  }

  void Release() {
    std::vector<Responder> held;
    {
      std::lock_guard lock(mu_);
      held.swap(held_);
    }
    for (auto& r : held) r(HttpResponse{200, "application/octet-stream", "released", {}});
  }
  void SetFailStatus(int status) {
    std::lock_guard lock(mu_);
    fail_status_ = status;
  }
  void TakeNext(size_t n) {
    std::lock_guard lock(mu_);
    take_next_ = n;
  }
  std::vector<std::string> Delivered() {
    std::lock_guard lock(mu_);
    return delivered_;
  }
  std::vector<SeenRequest> Seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }
  bool WaitDelivered(size_t n, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return delivered_.size() >= n; });
  }
  bool WaitSeen(size_t n, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return seen_.size() >= n; });
  }
  bool WaitHeld(size_t n, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return held_.size() >= n; });
  }

  std::string Url() const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/wf/shop/_portal/y";
  }
  PortalConfig Config(uint64_t queue_length = 4096, uint64_t batch_events = 256) const {
    PortalConfig c;
    c.url = Url();
    c.token = kLinkToken;
    c.queue_length = queue_length;
    c.batch_events = batch_events;
    c.timeout = 2000ms;
    return c;
  }
  static std::vector<std::string> Numbered(int n) {
    std::vector<std::string> out;
    out.reserve(n);
    for (int i = 0; i < n; ++i) out.emplace_back("e" + std::to_string(i));
    return out;
  }

  std::unique_ptr<HttpServer> server_;
  uint16_t port_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<SeenRequest> seen_;
  std::vector<std::string> delivered_;
  std::vector<Responder> held_;
  int fail_status_ = 0;
  size_t take_next_ = SIZE_MAX;
  size_t refused_at_ = SIZE_MAX;  // the request answered with a partial count
  FakeContext fake_;
};

TEST_F(PortalServerTest, BatchesArriveInOrderWithTheLinksHeaders) {
  PortalCounts before = PortalCounts::Now();
  auto portal = NewPortal(fake_.Make(), Config(4096, /*batch_events=*/3));
  std::vector<std::string> events = Numbered(10);
  for (const std::string& e : events) ASSERT_TRUE(portal->Cast("x", e).ok());
  ASSERT_TRUE(WaitDelivered(10)) << Delivered().size();
  EXPECT_EQ(Delivered(), events);
  for (const SeenRequest& r : Seen()) {
    EXPECT_EQ(r.path, "/wf/shop/_portal/y");
    EXPECT_EQ(r.mode, "cast");
    EXPECT_EQ(r.token, kLinkToken);
    EXPECT_EQ(r.content_type, "application/octet-stream");
    EXPECT_TRUE(r.timeout_ms.empty());
    EXPECT_GE(r.events.size(), 1u);
    EXPECT_LE(r.events.size(), 3u);
  }
  portal->Stop();
  PortalCounts after = PortalCounts::Now();
  EXPECT_EQ(after.sent - before.sent, 10u);
  EXPECT_EQ(after.batches - before.batches, Seen().size());
  EXPECT_EQ(after.dropped, before.dropped);
  EXPECT_TRUE(fake_.failures().empty());
}

TEST_F(PortalServerTest, ARefusalAfterKEventsResendsOnlyTheRest) {
  PortalCounts before = PortalCounts::Now();
  // The first batch is held back until all 6 are queued: one batch of 6,
  // of which the other domain takes 2.
  SetFailStatus(404);
  auto portal = NewPortal(fake_.Make(), Config());
  std::vector<std::string> events = Numbered(6);
  for (const std::string& e : events) ASSERT_TRUE(portal->Cast("x", e).ok());
  ASSERT_TRUE(WaitSeen(1));
  TakeNext(2);
  SetFailStatus(0);
  ASSERT_TRUE(WaitDelivered(6)) << Delivered().size();
  portal->Stop();
  // Each event exactly once, in order; the batch after the refusal starts
  // with the first event not taken.
  EXPECT_EQ(Delivered(), events);
  std::vector<SeenRequest> seen = Seen();
  size_t refusal = 0;
  {
    std::lock_guard lock(mu_);
    refusal = refused_at_;
  }
  ASSERT_LT(refusal + 1, seen.size());
  EXPECT_EQ(seen[refusal].events, events);
  EXPECT_EQ(seen[refusal + 1].events, std::vector<std::string>(events.begin() + 2, events.end()));
  PortalCounts after = PortalCounts::Now();
  EXPECT_EQ(after.sent - before.sent, 6u);
  EXPECT_EQ(after.refused - before.refused, 4u);
}

TEST_F(PortalServerTest, ALinkDownFillsTheQueueThenDeliversEverythingOnceInOrder) {
  PortalCounts before = PortalCounts::Now();
  uint16_t port = port_;
  StopServer();  // nothing listens: connection refused
  auto portal = NewPortal(fake_.Make(), Config(/*queue_length=*/4));
  std::vector<std::string> events = Numbered(4);
  for (const std::string& e : events) ASSERT_TRUE(portal->Cast("x", e).ok());
  Status full = portal->Cast("x", "e4");
  EXPECT_EQ(full.code(), Code::kResourceExhausted) << full.ToString();
  EXPECT_NE(full.message().find("is full (4 casts waiting)"), std::string::npos) << full.message();
  EXPECT_EQ(full.message().find(kLinkToken), std::string::npos);
  // CastWait holds its caller, then gives up at its deadline.
  auto start = std::chrono::steady_clock::now();
  Status waited = portal->CastWait("x", "e4", std::chrono::steady_clock::now() + 200ms);
  EXPECT_EQ(waited.code(), Code::kResourceExhausted);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 190ms);
  // The link is reported down, without the token.
  ASSERT_TRUE(fake_.WaitFailures(1));
  std::string failure = fake_.failures()[0];
  EXPECT_NE(failure.find("is down"), std::string::npos) << failure;
  EXPECT_NE(failure.find("/wf/shop/_portal/y"), std::string::npos) << failure;
  EXPECT_EQ(failure.find(kLinkToken), std::string::npos) << failure;
  // A producer waiting for room gets it once the link is back.
  std::future<Status> held = std::async(std::launch::async, [&] {
    return portal->CastWait("x", "e4", std::chrono::steady_clock::now() + 10s);
  });
  EXPECT_EQ(held.wait_for(100ms), std::future_status::timeout);
  StartServer(port);
  EXPECT_EQ(held.get().code(), Code::kOk);
  events.emplace_back("e4");
  ASSERT_TRUE(WaitDelivered(5)) << Delivered().size();
  portal->Stop();
  EXPECT_EQ(Delivered(), events);
  PortalCounts after = PortalCounts::Now();
  EXPECT_GE(after.link_errors - before.link_errors, 1u);
  EXPECT_EQ(after.sent - before.sent, 5u);
  EXPECT_EQ(after.dropped, before.dropped);
}

TEST_F(PortalServerTest, A404Or403KeepsTheBatchAndIsReported) {
  for (int status : {404, 403}) {
    SetFailStatus(status);
    FakeContext fake;
    auto portal = NewPortal(fake.Make(), Config());
    ASSERT_TRUE(portal->Cast("x", "kept").ok());
    ASSERT_TRUE(fake.WaitFailures(2));  // tried again
    EXPECT_NE(fake.failures()[0].find("HTTP " + std::to_string(status)), std::string::npos)
        << fake.failures()[0];
    EXPECT_TRUE(Delivered().empty());
    SetFailStatus(0);
    ASSERT_TRUE(WaitDelivered(1));
    EXPECT_EQ(Delivered(), std::vector<std::string>{"kept"});
    portal->Stop();
    std::lock_guard lock(mu_);
    delivered_.clear();
  }
}

TEST_F(PortalServerTest, StopDuringTheBackoffReturnsAtOnceAndCountsTheDropped) {
  PortalCounts before = PortalCounts::Now();
  SetFailStatus(404);
  aether::testing::FakeClock clock;  // the backoff never ends by itself
  fake_.clock = &clock;
  auto portal = NewPortal(fake_.Make(), Config());
  for (const std::string& e : Numbered(5)) ASSERT_TRUE(portal->Cast("x", e).ok());
  ASSERT_TRUE(fake_.WaitFailures(1));
  ASSERT_TRUE(clock.AwaitWaiters(1));  // the sender waits out its backoff
  auto start = std::chrono::steady_clock::now();
  portal->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 300ms);
  EXPECT_EQ(PortalCounts::Now().dropped - before.dropped, 5u);
  EXPECT_EQ(portal->Cast("x", "late").code(), Code::kUnavailable);
  EXPECT_EQ(portal->Call("x", "ok:1", 1s).status().code(), Code::kUnavailable);
}

// The target moved to another domain: the casts held for the old address
// go to the new one, in order, without waiting out the backoff.
TEST_F(PortalServerTest, AnUpdateKeepsTheQueueAndSendsToTheNewAddressAtOnce) {
  aether::testing::FakeClock clock;  // the backoff never ends by itself
  fake_.clock = &clock;
  PortalConfig dead = Config();
  dead.url = "http://127.0.0.1:1/wf/shop/_portal/y";  // nothing listens there
  auto portal = NewPortal(fake_.Make(), dead);
  for (const std::string& e : Numbered(5)) ASSERT_TRUE(portal->Cast("x", e).ok());
  ASSERT_TRUE(fake_.WaitFailures(1));
  ASSERT_TRUE(clock.AwaitWaiters(1));  // backing off
  ASSERT_TRUE(portal->Update({{"url", Url()}, {"token", std::string(kLinkToken)}}));
  ASSERT_TRUE(WaitDelivered(5));
  EXPECT_EQ(Delivered(), Numbered(5));
  // Configurations it cannot take: the host stops it and creates it anew.
  EXPECT_FALSE(portal->Update({{"url", "nope"}}));
  portal->Stop();
  EXPECT_FALSE(portal->Update({{"url", Url()}, {"token", std::string(kLinkToken)}}));
}

TEST_F(PortalServerTest, TheBackoffDoublesOnTheClockAndASuccessResetsIt) {
  SetFailStatus(404);
  aether::testing::FakeClock clock;
  fake_.clock = &clock;
  auto portal = NewPortal(fake_.Make(), Config());
  ASSERT_TRUE(portal->Cast("x", "e0").ok());
  // 10 ms, 20 ms, 40 ms: one attempt each time the backoff ends, none before.
  auto no_attempt_before_the_backoff_ends = [&](size_t failures,
                                                std::chrono::milliseconds backoff) {
    ASSERT_TRUE(fake_.WaitFailures(failures));
    ASSERT_TRUE(clock.AwaitWaiters(1));
    clock.Advance(backoff - 1ms);
    std::this_thread::sleep_for(20ms);
    EXPECT_EQ(fake_.failures().size(), failures);
  };
  for (size_t attempt = 1; attempt <= 3; ++attempt) {
    no_attempt_before_the_backoff_ends(attempt, kPortalMinBackoff * (1 << (attempt - 1)));
    if (attempt == 3) SetFailStatus(0);
    clock.Advance(1ms);
  }
  ASSERT_TRUE(WaitDelivered(1));
  // The success reset it: the next failure waits 10 ms again.
  SetFailStatus(404);
  ASSERT_TRUE(portal->Cast("x", "e1").ok());
  no_attempt_before_the_backoff_ends(4, kPortalMinBackoff);
  SetFailStatus(0);
  clock.Advance(1ms);
  ASSERT_TRUE(WaitDelivered(2));
  EXPECT_EQ(Delivered(), (std::vector<std::string>{"e0", "e1"}));
  portal->Stop();
}

TEST_F(PortalServerTest, CallsPassTheTimeoutAndMapTheAnswers) {
  PortalCounts before = PortalCounts::Now();
  auto portal = NewPortal(fake_.Make(), Config());
  Result<std::string> ok = portal->Call("x", "ok:hi", 1500ms);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(*ok, "reply:hi");
  SeenRequest r = Seen().back();
  EXPECT_EQ(r.mode, "call");
  EXPECT_EQ(r.token, kLinkToken);
  EXPECT_EQ(r.timeout_ms, "1500");
  EXPECT_EQ(r.body, "ok:hi");
  // Clamped to 1..60000.
  ASSERT_TRUE(portal->Call("x", "ok:", 120s).ok());
  EXPECT_EQ(Seen().back().timeout_ms, "60000");
  ASSERT_TRUE(portal->Call("x", "ok:", 0ms).ok());
  EXPECT_EQ(Seen().back().timeout_ms, "1");

  EXPECT_EQ(portal->Call("x", "504", 1s).status().code(), Code::kDeadlineExceeded);
  Status failed = portal->Call("x", "502", 1s).status();
  EXPECT_EQ(failed.code(), Code::kInternal);
  EXPECT_NE(failed.message().find("handler trapped: unreachable"), std::string::npos)
      << failed.message();
  EXPECT_EQ(portal->Call("x", "503", 1s).status().code(), Code::kUnavailable);
  EXPECT_EQ(portal->Call("x", "full", 1s).status().code(), Code::kResourceExhausted);
  Status denied = portal->Call("x", "403", 1s).status();
  EXPECT_EQ(denied.code(), Code::kUnavailable);
  EXPECT_NE(denied.message().find("HTTP 403"), std::string::npos) << denied.message();
  EXPECT_EQ(denied.message().find(kLinkToken), std::string::npos);
  PortalCounts after = PortalCounts::Now();
  EXPECT_EQ(after.calls_ok - before.calls_ok, 3u);
  EXPECT_EQ(after.calls_error - before.calls_error, 5u);
  EXPECT_EQ(after.link_errors - before.link_errors, 1u);  // the 403
  // Nothing listening: Unavailable.
  StopServer();
  EXPECT_EQ(portal->Call("x", "ok:", 1s).status().code(), Code::kUnavailable);
  portal->Stop();
}

TEST_F(PortalServerTest, SeveralCallsAreInFlightAtOnce) {
  auto portal = NewPortal(fake_.Make(), Config());
  std::vector<std::future<Result<std::string>>> calls;
  calls.reserve(3);
  for (int i = 0; i < 3; ++i) {
    calls.emplace_back(
        std::async(std::launch::async, [&] { return portal->Call("x", "hold", 5s); }));
  }
  ASSERT_TRUE(WaitHeld(3)) << "the calls were not sent at the same time";
  Release();
  for (auto& c : calls) {
    Result<std::string> r = c.get();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(*r, "released");
  }
  portal->Stop();
}

TEST_F(PortalServerTest, CreatedByTheFactoryFromItsConfigurations) {
  auto portal = CreateResource(
      kPortalClass, fake_.Make({{"url", Url()}, {"token", kLinkToken}, {"batch_events", "2"}}));
  ASSERT_TRUE(portal.ok()) << portal.status().ToString();
  ASSERT_TRUE((*portal)->Cast("x", "via factory").ok());
  ASSERT_TRUE(WaitDelivered(1));
  (*portal)->Stop();
  auto bad = CreateResource(kPortalClass, fake_.Make({{"url", Url()}, {"token", "short"}}));
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("portal configurations: token"), std::string::npos)
      << bad.status().message();
}

}  // namespace
}  // namespace aether::workflow::resources
