// What the asynchronous gateway adds to docs/api.md's answers (those are
// gateway_test.cc's): forwards over kept connections, a bounded pool per
// engine, connections an engine closes or a forward gives up on, a slow
// engine next to a fast one, Stop with forwards in flight, and the IO
// context a forward runs on. Engines are HttpServers on 127.0.0.1;
// registries are the real ones over the memory store.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <future>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "common/json_util.h"
#include "common/testing/eventually.h"
#include "control/gateway.h"
#include "control/testing/gateway_fixture.h"

namespace aether::control {
namespace {

using namespace std::chrono_literals;
using aether::testing::Eventually;

// An engine's /execute: answers "from <id>" at once, or while holding, keeps
// each request until Release. Records the gateway's connections (their
// client ports) and how many requests it held at once.
class Engine {
 public:
  explicit Engine(std::string id, HttpServerOptions o = {}) : id_(std::move(id)) {
    o.metrics = &registry_;
    server_ = std::make_unique<HttpServer>(o);
    server_->Route("POST", "/execute", [this](HttpRequest&& req, Responder respond) {
      std::unique_lock lock(mu_);
      remotes_.insert(req.remote);
      ++calls_;
      if (!hold_) {
        lock.unlock();
        return respond(HttpResponse{200, "application/json", "from " + id_, {}});
      }
      held_.push_back(std::move(respond));
      max_held_ = std::max(max_held_, held_.size());
    });
    EXPECT_TRUE(server_->Start().ok());
  }
  ~Engine() {
    Hold(false);
    Release("late");
    server_->Stop();
  }

  std::string url() const { return server_->url(); }
  void Hold(bool on) {
    std::lock_guard lock(mu_);
    hold_ = on;
  }
  // Answers every held request with `body`.
  void Release(const std::string& body) {
    std::vector<Responder> held;
    {
      std::lock_guard lock(mu_);
      held.swap(held_);
    }
    for (Responder& r : held) r(HttpResponse{200, "application/json", body, {}});
  }
  size_t Held() {
    std::lock_guard lock(mu_);
    return held_.size();
  }
  size_t MaxHeld() {
    std::lock_guard lock(mu_);
    return max_held_;
  }
  int Calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }
  size_t Connections() {
    std::lock_guard lock(mu_);
    return remotes_.size();
  }
  // Connections open at the engine now (its aether_http_connections).
  double Open() {
    std::string text = registry_.Render();
    size_t at = text.find("\naether_http_connections ");
    return at == std::string::npos ? -1 : std::stod(text.substr(at + 25));
  }

 private:
  const std::string id_;
  MetricsRegistry registry_;
  std::unique_ptr<HttpServer> server_;
  std::mutex mu_;
  bool hold_ = false;
  std::vector<Responder> held_;
  size_t max_held_ = 0;
  int calls_ = 0;
  std::set<std::string> remotes_;
};

class GatewayAsyncTest : public testing::GatewayFixture {
 protected:
  std::string Deploy(const std::string& name) {
    auto v = functions_->Deploy({name, "module bytes of " + name, {}, {}}, "test");
    EXPECT_TRUE(v.ok()) << v.status().message();
    return v.ok() ? v->sha256 : "";
  }
  // A node at `url` with `function` (at `sha`) ready.
  void Node(const std::string& id, const std::string& url, const std::string& function,
            const std::string& sha) {
    ASSERT_TRUE(nodes_->Admit({id, url, {}, {}}).ok());
    ASSERT_TRUE(nodes_->Beat({id, {}, {{function, sha}}, 0}).ok());
  }
  // Forwards wait up to `timeout` for an engine.
  void Make(size_t pool, std::chrono::milliseconds timeout = 20s, size_t threads = 64,
            size_t max_queue = 64) {
    GatewayOptions o;
    o.threads = threads;
    o.max_queue = max_queue;
    o.exec_timeout = timeout / 2;
    o.slack = timeout - o.exec_timeout;
    o.max_connections_per_node = pool;
    gateway_ = std::make_unique<Gateway>(*functions_, *nodes_, metrics_, o);
  }
  std::future<HttpResponse> InvokeAsync(const std::string& name,
                                        boost::asio::io_context* io = nullptr) {
    auto p = std::make_shared<std::promise<HttpResponse>>();
    auto f = p->get_future();
    gateway_->Invoke(
        name, R"({"input": 1})", [p](HttpResponse r) { p->set_value(std::move(r)); }, io);
    return f;
  }
  // The answer, or status 0 and a failure when none comes in 20 s.
  static HttpResponse Await(std::future<HttpResponse> f) {
    if (f.wait_for(20s) != std::future_status::ready) {
      ADD_FAILURE() << "the gateway did not answer within 20 s";
      return HttpResponse{0, "", "", {}};
    }
    return f.get();
  }
  HttpResponse Invoke(const std::string& name) { return Await(InvokeAsync(name)); }
};

TEST_F(GatewayAsyncTest, ForwardsReuseAKeptConnection) {
  Engine engine("e");
  Node("e", engine.url(), "f", Deploy("f"));
  Make(/*pool=*/4);
  for (int i = 0; i < 20; ++i) {
    HttpResponse r = Invoke("f");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.body, "from e");
  }
  EXPECT_EQ(engine.Connections(), 1u);
}

// The engine's idle timeout closes the kept connection; the next forward
// finds it closed, and goes once more on a new one: the client sees a 200,
// the function ran once.
TEST_F(GatewayAsyncTest, AConnectionTheEngineClosedIsReplacedUnseen) {
  HttpServerOptions o;
  o.idle_timeout = 50ms;
  Engine engine("e", o);
  Node("e", engine.url(), "f", Deploy("f"));
  Make(/*pool=*/1);
  ASSERT_EQ(Invoke("f").status, 200);
  ASSERT_TRUE(Eventually([&] { return engine.Open() == 0; }));
  HttpResponse r = Invoke("f");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(engine.Calls(), 2);
  EXPECT_EQ(engine.Connections(), 2u);
}

// The answer to a forward that timed out may still come; it must never be
// read as the answer to the next one, so that connection is not reused.
TEST_F(GatewayAsyncTest, AnEngineThatHangsIs504AndItsConnectionIsDiscarded) {
  Engine engine("e");
  Node("e", engine.url(), "f", Deploy("f"));
  Make(/*pool=*/1, /*timeout=*/300ms);
  engine.Hold(true);
  HttpResponse r = Invoke("f");
  EXPECT_EQ(r.status, 504);
  EXPECT_EQ(Code(r), "gateway_timeout") << r.body;
  engine.Hold(false);
  engine.Release("late");
  r = Invoke("f");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "from e");
  EXPECT_EQ(engine.Connections(), 2u);
}

// 12 invocations, 2 connections: never more than 2 at the engine at once,
// and every one answered as the connections come free.
TEST_F(GatewayAsyncTest, ManyInvocationsShareASmallPool) {
  Engine engine("e");
  Node("e", engine.url(), "f", Deploy("f"));
  Make(/*pool=*/2);
  engine.Hold(true);
  std::vector<std::future<HttpResponse>> answers;
  answers.reserve(12);
  for (int i = 0; i < 12; ++i) answers.push_back(InvokeAsync("f"));
  for (int round = 0; round < 6; ++round) {
    ASSERT_TRUE(Eventually([&] { return engine.Held() == 2; })) << "round " << round;
    engine.Release("r" + std::to_string(round));
  }
  for (auto& a : answers) {
    HttpResponse r = Await(std::move(a));
    EXPECT_EQ(r.status, 200) << r.body;
  }
  EXPECT_EQ(engine.MaxHeld(), 2u);
  EXPECT_EQ(engine.Connections(), 2u);
  EXPECT_EQ(engine.Calls(), 12);
}

// The slow engine's one connection is busy and two more forwards wait for
// it; the fast engine's function is answered meanwhile.
TEST_F(GatewayAsyncTest, ASlowEngineDoesNotHoldUpAFastOne) {
  Engine slow("slow");
  Engine fast("fast");
  slow.Hold(true);
  Node("slow", slow.url(), "s", Deploy("s"));
  Node("fast", fast.url(), "f", Deploy("f"));
  Make(/*pool=*/1);
  std::vector<std::future<HttpResponse>> stuck;
  stuck.reserve(3);
  for (int i = 0; i < 3; ++i) stuck.push_back(InvokeAsync("s"));
  ASSERT_TRUE(Eventually([&] { return slow.Held() == 1; }));
  HttpResponse r = Invoke("f");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "from fast");
  for (auto& s : stuck) EXPECT_NE(s.wait_for(0s), std::future_status::ready);
  slow.Hold(false);
  slow.Release("late");
  for (auto& s : stuck) EXPECT_EQ(Await(std::move(s)).status, 200);
}

// Stop: the forward at the engine is answered by the engine (Stop waits for
// it); the one waiting for a connection and the one queued for a slot were
// never sent, and get 503 unavailable at once.
TEST_F(GatewayAsyncTest, StopAnswersEveryInvocationInFlight) {
  Engine engine("e");
  Node("e", engine.url(), "f", Deploy("f"));
  Make(/*pool=*/1, 20s, /*threads=*/2, /*max_queue=*/4);
  engine.Hold(true);
  auto sent = InvokeAsync("f");
  ASSERT_TRUE(Eventually([&] { return engine.Held() == 1; }));
  auto waiting = InvokeAsync("f");  // a slot, no connection
  auto queued = InvokeAsync("f");   // no slot
  auto stopped = std::async(std::launch::async, [&] { gateway_->Stop(); });
  for (auto* f : {&waiting, &queued}) {
    HttpResponse r = Await(std::move(*f));
    EXPECT_EQ(r.status, 503);
    EXPECT_EQ(Code(r), "unavailable") << r.body;
  }
  EXPECT_NE(stopped.wait_for(0s), std::future_status::ready) << "Stop waits for the one sent";
  engine.Release("answered");
  HttpResponse r = Await(std::move(sent));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "answered");
  ASSERT_EQ(stopped.wait_for(20s), std::future_status::ready);
  EXPECT_EQ(engine.Calls(), 1);
  EXPECT_EQ(Invoke("f").status, 503) << "after Stop";
}

// Invoked from an HTTP server's IO thread (HttpRequest::io_context), the
// forward runs there and the answer comes back on that thread.
TEST_F(GatewayAsyncTest, TheAnswerComesOnTheIoContextOfTheCaller) {
  boost::asio::io_context io(1);
  auto guard = boost::asio::make_work_guard(io);
  std::thread runner([&] { io.run(); });
  Engine engine("e");
  Node("e", engine.url(), "f", Deploy("f"));
  Make(/*pool=*/2);
  std::promise<std::thread::id> where;
  gateway_->Invoke(
      "f", R"({"input": 1})",
      [&](const HttpResponse& r) {
        EXPECT_EQ(r.status, 200) << r.body;
        where.set_value(std::this_thread::get_id());
      },
      &io);
  auto f = where.get_future();
  ASSERT_EQ(f.wait_for(20s), std::future_status::ready);
  EXPECT_EQ(f.get(), runner.get_id());
  gateway_->Stop();  // before the context it used stops, as the control plane does
  guard.reset();
  runner.join();
}

// The gateway reads the function registry's cached manifest: a deploy is
// seen by the next invocation (the node has only the old version ready).
TEST_F(GatewayAsyncTest, ADeployIsSeenByTheNextInvocation) {
  Engine engine("e");
  Node("e", engine.url(), "f", Deploy("f"));
  Make(/*pool=*/1);
  ASSERT_EQ(Invoke("f").status, 200);
  auto v2 = functions_->Deploy({"f", "version two", {}, {}}, "test");
  ASSERT_TRUE(v2.ok()) << v2.status().message();
  HttpResponse r = Invoke("f");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(Code(r), "no_ready_node") << r.body;
  EXPECT_NE(r.body.find("version 2"), std::string::npos) << r.body;
}

}  // namespace
}  // namespace aether::control
