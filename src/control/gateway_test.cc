// The gateway's answers of docs/api.md ("Gateway"), one by one, against
// engines stood in for by servers on 127.0.0.1: the engine's own answer,
// 503 no_ready_node (with Retry-After: 1 when no node is ready), 503 when
// none can be reached, 502 when a node drops the connection, 504 when it
// does not answer in time, 503 overloaded when the queue is full, and 503
// unavailable once stopping. Registries are the real ones over the memory
// store; the forward timeout is shortened through GatewayOptions.
#include "control/gateway.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "common/json_util.h"
#include "common/testing/eventually.h"
#include "control/testing/gateway_fixture.h"

namespace aether::control {
namespace {

using std::chrono::milliseconds;

// Accepts connections, reads the request's first bytes and closes: a node
// that dies mid-request.
class ClosingServer {
 public:
  ClosingServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), len), 0);
    EXPECT_EQ(::listen(fd_, 8), 0);
    EXPECT_EQ(::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len), 0);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      for (;;) {
        int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) return;  // shut down
        char buf[256];
        (void)::recv(c, buf, sizeof buf, 0);
        ::close(c);
      }
    });
  }
  ~ClosingServer() {
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
};

// An engine's /execute that answers 200 "from <id>", or holds every request
// until the test ends (`hold`).
class FakeEngine {
 public:
  explicit FakeEngine(const std::string& id, bool hold = false) : server_(HttpServerOptions{}) {
    server_.Route("POST", "/execute", [this, id, hold](HttpRequest&&, Responder respond) {
      ++calls_;
      if (!hold) return respond(HttpResponse{200, "application/json", "from " + id, {}});
      std::lock_guard lock(mu_);
      held_.push_back(std::move(respond));
    });
    EXPECT_TRUE(server_.Start().ok());
  }
  ~FakeEngine() {
    std::vector<Responder> held;
    {
      std::lock_guard lock(mu_);
      held.swap(held_);
    }
    for (Responder& r : held) r(HttpResponse{200, "application/json", "late", {}});
    server_.Stop();
  }
  std::string url() const { return server_.url(); }
  int calls() const { return calls_; }

 private:
  std::atomic<int> calls_{0};
  std::mutex mu_;
  std::vector<Responder> held_;
  HttpServer server_;
};

class GatewayTest : public testing::GatewayFixture {
 protected:
  void SetUp() override {
    GatewayFixture::SetUp();
    auto v = functions_->Deploy({"f", "module bytes", {}, {}}, "test");
    ASSERT_TRUE(v.ok()) << v.status().message();
    sha_ = v->sha256;
  }

  // A gateway whose forwards time out after 300 ms.
  void Make(size_t threads = 4, size_t max_queue = 16) {
    GatewayOptions o;
    o.threads = threads;
    o.max_queue = max_queue;
    o.exec_timeout = milliseconds(100);
    o.slack = milliseconds(200);
    gateway_ = std::make_unique<Gateway>(*functions_, *nodes_, metrics_, o);
  }
  // A node at `url` that reports f's current version ready (or `sha`).
  void Node(const std::string& id, const std::string& url, std::string sha = "") {
    ASSERT_TRUE(nodes_->Admit({id, url, {}, {}}).ok());
    ASSERT_TRUE(nodes_->Beat({id, {}, {{"f", sha.empty() ? sha_ : sha}}, 0}).ok());
  }
  std::future<HttpResponse> InvokeAsync(const std::string& name = "f") {
    auto p = std::make_shared<std::promise<HttpResponse>>();
    auto f = p->get_future();
    gateway_->Invoke(name, R"({"input": 1})", [p](HttpResponse r) { p->set_value(std::move(r)); });
    return f;
  }
  HttpResponse Invoke(const std::string& name = "f") { return Await(InvokeAsync(name)); }
  // The answer, or status 0 and a failure when none comes in 20 s (every
  // answer here is due within the 300 ms forward timeout): a gateway that
  // hangs fails the test instead of hanging it. The test's FakeEngines,
  // destroyed before TearDown, answer what they hold and so free the
  // gateway's threads.
  static HttpResponse Await(std::future<HttpResponse> f) {
    if (f.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
      ADD_FAILURE() << "the gateway did not answer within 20 s";
      return HttpResponse{0, "", "", {}};
    }
    return f.get();
  }
  double Invokes(const std::string& status) {
    std::string text = registry_.Render();
    std::string key = "aether_control_invokes_total{status=\"" + status + "\"} ";
    size_t at = text.find(key);
    return at == std::string::npos ? 0 : std::stod(text.substr(at + key.size()));
  }

  std::string sha_;
};

TEST_F(GatewayTest, ForwardsToAReadyNodeAndReturnsItsAnswer) {
  FakeEngine engine("good");
  Node("good", engine.url());
  Make();
  HttpResponse r = Invoke();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "from good");
  EXPECT_EQ(r.Header("X-Aether-Node"), "good");
  EXPECT_EQ(Invokes("200"), 1);
}

TEST_F(GatewayTest, NoReadyNodeIs503WithRetryAfter) {
  FakeEngine engine("old");
  Node("old", engine.url(), std::string(64, '0'));  // an older version ready
  Make();
  HttpResponse r = Invoke();
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(Code(r), "no_ready_node") << r.body;
  EXPECT_EQ(r.Header("Retry-After"), "1");
  EXPECT_EQ(engine.calls(), 0);
  EXPECT_EQ(Invoke("nope").status, 404);
  EXPECT_EQ(Code(Invoke("nope")), "not_found");
}

TEST_F(GatewayTest, NoNodeThatCanBeReachedIs503) {
  Node("dead-1", "http://127.0.0.1:1");
  Node("dead-2", "http://127.0.0.1:1");
  Make();
  HttpResponse r = Invoke();
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(Code(r), "no_ready_node") << r.body;
  EXPECT_NE(r.body.find("could be reached"), std::string::npos) << r.body;
}

TEST_F(GatewayTest, ConnectFailureIsRetriedOnASecondNode) {
  FakeEngine engine("good");
  Node("dead", "http://127.0.0.1:1");
  Node("good", engine.url());
  Make();
  // Pick rotates its starting node, so at least one of two invocations
  // tries "dead" first: every one still lands on "good".
  for (int i = 0; i < 2; ++i) {
    HttpResponse r = Invoke();
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.Header("X-Aether-Node"), "good");
  }
  EXPECT_EQ(engine.calls(), 2);
}

TEST_F(GatewayTest, ANodeThatDropsTheConnectionIs502AndNotRetried) {
  ClosingServer dropper;
  FakeEngine other("other");
  Node("dropper", dropper.url());
  Make();
  HttpResponse r = Invoke();
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(Code(r), "bad_gateway") << r.body;
  EXPECT_NE(r.body.find("dropper"), std::string::npos) << r.body;
  // With a second node ready: still 502 from the first, never sent twice
  // (the function may have run). Pick rotates, so try until it starts with
  // the dropper.
  Node("other", other.url());
  bool seen = false;
  for (int i = 0; i < 4 && !seen; ++i) {
    r = Invoke();
    if (r.status == 502) seen = true;
  }
  EXPECT_TRUE(seen);
  EXPECT_EQ(Invokes("502"), 2);
}

// Hung before the one HTTP client: the old pool set SO_RCVTIMEO, but Asio's
// blocking read answers its EAGAIN by polling with no timeout, so a node
// that never answered held the forward (and Stop) forever instead of 504.
TEST_F(GatewayTest, ANodeThatDoesNotAnswerInTimeIs504) {
  FakeEngine slow("slow", /*hold=*/true);
  Node("slow", slow.url());
  Make();
  HttpResponse r = Invoke();
  EXPECT_EQ(r.status, 504);
  EXPECT_EQ(Code(r), "gateway_timeout") << r.body;
  EXPECT_NE(r.body.find("slow"), std::string::npos) << r.body;
  EXPECT_EQ(Invokes("504"), 1);
}

// A function's own timeout above the engines' [runtime] exec_timeout is cut
// to it (EffectiveExecTimeout), as the engine cuts it: the forward gives up
// after exec_timeout + slack (300 ms here), not after the function's 60 s.
TEST_F(GatewayTest, TheForwardTimeoutIsCappedByTheEnginesExecTimeout) {
  FunctionLimits limits;
  limits.timeout = std::chrono::seconds(60);
  auto g = functions_->Deploy({"g", "other module bytes", {}, limits}, "test");
  ASSERT_TRUE(g.ok()) << g.status().message();
  FakeEngine slow("slow", /*hold=*/true);
  ASSERT_TRUE(nodes_->Admit({"slow", slow.url(), {}, {}}).ok());
  ASSERT_TRUE(nodes_->Beat({"slow", {}, {{"g", g->sha256}}, 0}).ok());
  Make();
  HttpResponse r = Invoke("g");  // fails the test when no answer comes in 20 s
  EXPECT_EQ(r.status, 504);
  EXPECT_EQ(Code(r), "gateway_timeout") << r.body;
}

// Slots are taken without the lock while nobody waits: under invocations
// from many threads at once, with far fewer slots, every one is forwarded
// and answered (none left in the queue beside a free slot), and the slots
// are all free after.
TEST_F(GatewayTest, ManyThreadsShareFewSlotsAndEveryInvocationIsAnswered) {
  FakeEngine engine("good");
  Node("good", engine.url());
  Make(/*threads=*/2, /*max_queue=*/1000);
  constexpr size_t kThreads = 8, kEach = 50;
  std::vector<std::future<HttpResponse>> answers(kThreads * kEach);
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (size_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (size_t i = 0; i < kEach; ++i) answers[t * kEach + i] = InvokeAsync();
    });
  }
  for (std::thread& t : threads) t.join();
  size_t ok = 0;
  for (auto& a : answers) ok += Await(std::move(a)).status == 200 ? 1 : 0;
  EXPECT_EQ(ok, kThreads * kEach);
  EXPECT_EQ(static_cast<size_t>(engine.calls()), kThreads * kEach);
  // Every slot came back: two invocations held by a node run at once.
  FakeEngine slow("slow", /*hold=*/true);
  ASSERT_TRUE(nodes_->Beat({"good", {}, {{"f", std::string(64, '0')}}, 0}).ok());  // not ready now
  Node("slow", slow.url());
  auto first = InvokeAsync();
  auto second = InvokeAsync();
  aether::testing::Eventually([&] { return slow.calls() == 2; }, std::chrono::seconds(20));
  EXPECT_EQ(slow.calls(), 2);
}

TEST_F(GatewayTest, AFullQueueIs503OverloadedAndStoppingIs503Unavailable) {
  FakeEngine slow("slow", /*hold=*/true);
  Node("slow", slow.url());
  Make(/*threads=*/1, /*max_queue=*/1);
  auto busy = InvokeAsync();  // held by the node for 300 ms
  aether::testing::Eventually([&] { return slow.calls() != 0; }, std::chrono::seconds(20));
  ASSERT_EQ(slow.calls(), 1) << "the first invocation never reached the node";
  auto queued = InvokeAsync();
  HttpResponse over = Invoke();  // answered at once, on this thread
  EXPECT_EQ(over.status, 503);
  EXPECT_EQ(Code(over), "overloaded") << over.body;
  // Stop: the forward in flight ends by its timeout; the queued one is
  // answered 503 unavailable instead of being forwarded.
  gateway_->Stop();
  HttpResponse timed_out = Await(std::move(busy));
  EXPECT_EQ(timed_out.status, 504);
  EXPECT_EQ(Code(timed_out), "gateway_timeout") << timed_out.body;
  HttpResponse late = Await(std::move(queued));
  EXPECT_EQ(late.status, 503);
  EXPECT_EQ(Code(late), "unavailable") << late.body;
  EXPECT_EQ(slow.calls(), 1);
  HttpResponse after = Invoke();
  EXPECT_EQ(after.status, 503) << "after Stop";
  EXPECT_EQ(Code(after), "unavailable") << after.body;
}

}  // namespace
}  // namespace aether::control
