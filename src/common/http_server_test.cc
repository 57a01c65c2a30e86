#include "common/http_server.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <mutex>
#include <optional>
#include <thread>

#include "common/http_client.h"
#include "common/raw_conn_test_util.h"
#include "common/testing/eventually.h"
#include "common/testing/http_error.h"
#include "common/testing/http_fetch.h"

namespace aether {
namespace {

namespace http = boost::beast::http;
using namespace std::chrono_literals;
using testing::RawConn;
using testing::RawGet;

class HttpServerTest : public ::testing::Test {
 protected:
  void StartServer(HttpServerOptions options = {}) {
    server_ = std::make_unique<HttpServer>(std::move(options));
    server_->Route("GET", "/hello", [](HttpRequest&&, Responder respond) {
      respond(JsonOk(boost::json::object{{"hello", "world"}}));
    });
    server_->Route("POST", "/echo", [](HttpRequest&& req, Responder respond) {
      HttpResponse r;
      r.content_type = std::string(req.Header("content-type"));
      r.body = std::move(req.body);
      r.headers = {{"X-Method", req.method},
                   {"X-Path", req.path},
                   {"X-Query-A", req.query.count("a") ? req.query.at("a") : "-"},
                   {"X-Foo", std::string(req.Header("X-FOO"))},
                   {"X-Remote", req.remote}};
      respond(std::move(r));
    });
    // Answers from another thread after ?ms= milliseconds, echoing ?i=
    // (or ?n= bytes of 'x').
    server_->Route("GET", "/later", [this](HttpRequest&& req, Responder respond) {
      int ms = req.query.count("ms") ? std::stoi(req.query.at("ms")) : 0;
      std::string i = req.query.count("i") ? req.query.at("i") : "";
      if (req.query.count("n")) i.assign(std::stoul(req.query.at("n")), 'x');
      std::lock_guard lock(mu_);
      ++later_entered_;
      threads_.emplace_back([ms, i, respond = std::move(respond)] {
        std::this_thread::sleep_for(std::chrono::milliseconds(ms));
        HttpResponse r;
        r.content_type = "text/plain";
        r.body = i;
        respond(std::move(r));
      });
    });
    server_->Route("POST", "/api/functions", [](HttpRequest&&, Responder respond) {
      HttpResponse r;
      r.status = 201;
      r.body = "{}";
      respond(std::move(r));
    });
    server_->RoutePrefix("GET", "/api/functions/", [](HttpRequest&& req, Responder respond) {
      respond(JsonOk(boost::json::string(req.path)));
    });
    server_->RoutePrefix("DELETE", "/api/", [](HttpRequest&&, Responder respond) {
      respond(JsonOk(boost::json::string("deleted")));
    });
    server_->Route("GET", "/drop", [](HttpRequest&&, Responder) {});
    server_->Route("GET", "/inject", [](HttpRequest&&, Responder respond) {
      HttpResponse r;
      r.headers = {{"X-Ok", "1"}, {"X-Bad", "v\r\nX-Evil: 1"}, {"Content-Length", "999"}};
      respond(std::move(r));
    });
    server_->Route("GET", "/throw",
                   [](HttpRequest&&, Responder) { throw std::runtime_error("boom"); });
    Status st = server_->Start();
    ASSERT_TRUE(st.ok()) << st.ToString();
    ASSERT_NE(server_->port(), 0);
  }

  std::string Url(std::string_view path) const { return server_->url() + std::string(path); }

  std::unique_ptr<HttpServer> server_;
  std::mutex mu_;
  std::vector<std::jthread> threads_;  // destroyed (joined) before server_
  int later_entered_ = 0;              // /later requests handed to a handler
  // True once `n` /later requests have reached their handler.
  bool LaterEntered(int n) {
    return aether::testing::Eventually([&] {
      std::lock_guard lock(mu_);
      return later_entered_ >= n;
    });
  }
};

// application/json is the default and held without a string of its own;
// any other value, or none, is kept as given.
TEST(ContentTypeTest, BehavesAsTheStringItHolds) {
  HttpResponse r;
  EXPECT_EQ(r.content_type, "application/json");
  r.content_type = "text/plain; charset=utf-8";
  EXPECT_EQ(r.content_type, "text/plain; charset=utf-8");
  EXPECT_TRUE(r.content_type.starts_with("text/plain"));
  r.content_type.assign("application/json", 16);
  EXPECT_EQ(r.content_type.view(), "application/json");
  r.content_type.clear();
  EXPECT_TRUE(r.content_type.empty());
  EXPECT_EQ(r.content_type, "");
  HttpResponse moved = std::move(r);
  EXPECT_TRUE(moved.content_type.empty());
  std::string moved_in = "application/octet-stream";
  ContentType from_rvalue(std::move(moved_in));
  EXPECT_EQ(from_rvalue, "application/octet-stream");
  EXPECT_EQ(ContentType(std::string("application/json")), "application/json");
  std::string head = "Content-Type: ";
  head += ContentType(std::string("application/wasm"));
  EXPECT_EQ(head, "Content-Type: application/wasm");
}

TEST_F(HttpServerTest, GetAndPost) {
  StartServer();
  auto r = HttpFetch("GET", Url("/hello"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"hello":"world"})");
  EXPECT_EQ(r->content_type, "application/json");
  EXPECT_EQ(r->Header("server"), "aether");

  auto e = HttpFetch("POST", Url("/echo?a=x%20y&b=1&a=last+one"), "payload",
                     {{"Content-Type", "text/plain"}, {"x-foo", "bar"}});
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->body, "payload");
  EXPECT_EQ(e->content_type, "text/plain");
  EXPECT_EQ(e->Header("X-Method"), "POST");
  EXPECT_EQ(e->Header("X-Path"), "/echo");
  EXPECT_EQ(e->Header("X-Query-A"), "last one");
  EXPECT_EQ(e->Header("X-Foo"), "bar");
  EXPECT_TRUE(e->Header("X-Remote").starts_with("127.0.0.1:"));

  // Headers that would split the response are dropped; framing is ours.
  auto inj = HttpFetch("GET", Url("/inject"));
  ASSERT_TRUE(inj.ok()) << inj.status().ToString();
  EXPECT_EQ(inj->Header("X-Ok"), "1");
  EXPECT_EQ(inj->Header("X-Evil"), "");
  EXPECT_EQ(inj->Header("X-Bad"), "");
  EXPECT_EQ(inj->Header("Content-Length"), "0");
}

TEST_F(HttpServerTest, RoutingNotFoundAndMethodNotAllowed) {
  StartServer();
  auto nf = HttpFetch("GET", Url("/nope"));
  ASSERT_TRUE(nf.ok());
  EXPECT_EQ(nf->status, 404);
  EXPECT_EQ(nf->body, R"({"error":"no route for /nope","code":"not_found"})");

  auto na = HttpFetch("PUT", Url("/hello"));
  ASSERT_TRUE(na.ok());
  EXPECT_EQ(na->status, 405);
  EXPECT_EQ(na->Header("Allow"), "GET");
  EXPECT_NE(na->body.find("\"code\":\"method_not_allowed\""), std::string::npos);

  // Exact beats prefix; the longest prefix wins; the path is decoded.
  EXPECT_EQ(HttpFetch("POST", Url("/api/functions"))->status, 201);
  EXPECT_EQ(HttpFetch("GET", Url("/api/functions/hello%20w"))->body, R"("/api/functions/hello w")");
  auto del = HttpFetch("DELETE", Url("/api/functions/x"));
  EXPECT_TRUE(IsError(*del, 405, "method_not_allowed"))
      << "the /api/functions/ entry decides, not the shorter /api/";
  EXPECT_EQ(HttpFetch("DELETE", Url("/api/nodes/x"))->body, R"("deleted")");

  // HEAD uses the GET handler without a body.
  RawConn c(server_->port());
  ASSERT_TRUE(c.Send("HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n" + RawGet("/hello")));
  auto head = c.Read(3000ms, true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->result_int(), 200u);
  EXPECT_EQ((*head)[http::field::content_length], "17");
  auto after = c.Read();  // the next response is not eaten as a body
  ASSERT_TRUE(after);
  EXPECT_EQ(after->body(), R"({"hello":"world"})");
}

TEST_F(HttpServerTest, BodyTooLargeIs413AndCloses) {
  StartServer();
  std::string big(10 << 20, 'x');
  auto start = std::chrono::steady_clock::now();
  auto r = HttpFetch("POST", Url("/echo"), big, {}, 5000ms);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(r->body,
            R"({"error":"request body exceeds 4194304 bytes","code":"payload_too_large"})");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);

  // Checked on Content-Length before any body byte arrives.
  RawConn c(server_->port());
  ASSERT_TRUE(c.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10485760\r\n\r\n"));
  auto resp = c.Read();
  ASSERT_TRUE(resp);
  EXPECT_EQ(resp->result_int(), 413u);
  EXPECT_EQ((*resp)[http::field::connection], "close");
  EXPECT_TRUE(c.WaitForClose());
}

TEST_F(HttpServerTest, ChunkedBodyOverLimitIs413) {
  HttpServerOptions o;
  o.max_body = 1000;
  StartServer(o);
  RawConn c(server_->port());
  std::string chunk(800, 'a');
  ASSERT_TRUE(
      c.Send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
             "320\r\n" +
             chunk + "\r\n320\r\n" + chunk + "\r\n0\r\n\r\n"));
  auto resp = c.Read();
  ASSERT_TRUE(resp);
  EXPECT_EQ(resp->result_int(), 413u);
  EXPECT_NE(resp->body().find("exceeds 1000 bytes"), std::string::npos);

  // Under the limit, chunked bodies arrive whole.
  RawConn ok(server_->port());
  ASSERT_TRUE(
      ok.Send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
              "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"));
  auto r2 = ok.Read();
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->body(), "abcde");
}

TEST_F(HttpServerTest, ExpectContinue) {
  StartServer();
  RawConn c(server_->port());
  ASSERT_TRUE(
      c.Send("POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
             "Content-Length: 5\r\n\r\n"));
  auto interim = c.Read();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->result_int(), 100u);
  ASSERT_TRUE(c.Send("hello"));
  auto final_response = c.Read();
  ASSERT_TRUE(final_response);
  EXPECT_EQ(final_response->result_int(), 200u);
  EXPECT_EQ(final_response->body(), "hello");
}

TEST_F(HttpServerTest, MalformedRequestIs400AndCloses) {
  StartServer();
  RawConn c(server_->port());
  ASSERT_TRUE(c.Send("THIS IS NOT HTTP\r\n\r\n"));
  auto resp = c.Read();
  ASSERT_TRUE(resp);
  EXPECT_EQ(resp->result_int(), 400u);
  EXPECT_NE(resp->body().find("\"code\":\"bad_request\""), std::string::npos);
  EXPECT_TRUE(c.WaitForClose());

  RawConn bad_target(server_->port());
  ASSERT_TRUE(bad_target.Send(RawGet("/a%zz")));
  auto r2 = bad_target.Read();
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->result_int(), 400u);
}

TEST_F(HttpServerTest, KeepAliveAndConnectionClose) {
  StartServer();
  RawConn c(server_->port());
  std::string remote;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(
        c.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\n" + std::to_string(i)));
    auto resp = c.Read();
    ASSERT_TRUE(resp) << i;
    EXPECT_EQ(resp->body(), std::to_string(i));
    EXPECT_TRUE(resp->keep_alive());
    if (i == 0) remote = std::string((*resp)["X-Remote"]);
    EXPECT_EQ((*resp)["X-Remote"], remote) << "same connection";
  }
  ASSERT_TRUE(c.Send(RawGet("/hello", "Connection: close\r\n")));
  auto last = c.Read();
  ASSERT_TRUE(last);
  EXPECT_EQ((*last)[http::field::connection], "close");
  EXPECT_TRUE(c.WaitForClose());
}

TEST_F(HttpServerTest, Http10) {
  StartServer();
  RawConn c(server_->port());
  ASSERT_TRUE(c.Send("GET /hello HTTP/1.0\r\n\r\n"));
  auto resp = c.Read();
  ASSERT_TRUE(resp);
  EXPECT_EQ(resp->body(), R"({"hello":"world"})");
  EXPECT_TRUE(c.WaitForClose());

  RawConn ka(server_->port());
  ASSERT_TRUE(ka.Send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  auto r1 = ka.Read();
  ASSERT_TRUE(r1);
  EXPECT_EQ((*r1)[http::field::connection], "keep-alive");
  ASSERT_TRUE(ka.Send("GET /hello HTTP/1.0\r\n\r\n"));
  EXPECT_TRUE(ka.Read());
}

TEST_F(HttpServerTest, PipelinedRequestsAnsweredInOrder) {
  StartServer();
  RawConn c(server_->port());
  // The first answer is the slowest; it must still come first.
  ASSERT_TRUE(c.Send(RawGet("/later?i=1&ms=100") + RawGet("/later?i=2") + RawGet("/hello") +
                     RawGet("/later?i=4&ms=20")));
  std::vector<std::string> bodies;
  for (int i = 0; i < 4; ++i) {
    auto resp = c.Read();
    ASSERT_TRUE(resp) << i;
    bodies.push_back(resp->body());
  }
  EXPECT_EQ(bodies, (std::vector<std::string>{"1", "2", R"({"hello":"world"})", "4"}));
}

TEST_F(HttpServerTest, AsyncResponderFromAnotherThread) {
  HttpServerOptions o;
  o.io_threads = 2;
  StartServer(o);
  std::vector<std::jthread> clients;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    clients.emplace_back([&, i] {
      auto r = HttpFetch("GET", Url("/later?ms=30&i=" + std::to_string(i)));
      if (r.ok() && r->status == 200 && r->body == std::to_string(i)) ++ok;
    });
  }
  clients.clear();
  EXPECT_EQ(ok.load(), 8);
}

// An answer from another thread is written on the IO thread at once, as
// far as the socket takes it; one larger than the socket's buffer goes out
// in parts, and the kept connection then serves the next request.
TEST_F(HttpServerTest, ABigLateAnswerIsWrittenWholeAndTheConnectionGoesOn) {
  StartServer();
  auto http = NewHttpClient({.max_idle_per_host = 1});
  for (int i = 0; i < 2; ++i) {
    auto big = http->Fetch("GET", Url("/later?n=8388608"), {}, {}, 10000ms);
    ASSERT_TRUE(big.ok()) << big.status().ToString();
    EXPECT_EQ(big->body.size(), 8388608u);
    EXPECT_EQ(big->body.find_first_not_of('x'), std::string::npos);
    auto small = http->Fetch("GET", Url("/later?i=after"), {}, {}, 10000ms);
    ASSERT_TRUE(small.ok()) << small.status().ToString();
    EXPECT_EQ(small->body, "after");
  }
}

TEST_F(HttpServerTest, DroppedResponderAndThrowingHandlerGive500) {
  StartServer();
  auto dropped = HttpFetch("GET", Url("/drop"), {}, {}, 2000ms);
  ASSERT_TRUE(dropped.ok()) << dropped.status().ToString();
  EXPECT_TRUE(IsError(*dropped, 500, "internal"));
  auto thrown = HttpFetch("GET", Url("/throw"), {}, {}, 2000ms);
  ASSERT_TRUE(thrown.ok()) << thrown.status().ToString();
  EXPECT_TRUE(IsError(*thrown, 500, "internal"));
  EXPECT_EQ(HttpFetch("GET", Url("/hello"))->status, 200) << "server still serves";
}

TEST_F(HttpServerTest, IdleConnectionsTimeOut) {
  HttpServerOptions o;
  o.idle_timeout = 100ms;
  StartServer(o);
  RawConn c(server_->port());
  ASSERT_TRUE(c.Send(RawGet("/hello")));
  ASSERT_TRUE(c.Read());
  // Closed at all: without the 100 ms idle_timeout nothing would close it
  // (the default is 60 s); 5 s is room for a busy machine.
  EXPECT_TRUE(c.WaitForClose(5000ms));
  // Time in a handler is not idle time.
  auto slow = HttpFetch("GET", Url("/later?ms=300&i=s"));
  ASSERT_TRUE(slow.ok()) << slow.status().ToString();
  EXPECT_EQ(slow->body, "s");
}

TEST_F(HttpServerTest, GracefulStop) {
  StartServer();
  RawConn idle(server_->port());
  ASSERT_TRUE(idle.Send(RawGet("/hello")));
  ASSERT_TRUE(idle.Read());

  std::optional<Result<HttpResponse>> inflight;
  std::jthread client([&] { inflight = HttpFetch("GET", Url("/later?ms=300&i=done")); });
  ASSERT_TRUE(LaterEntered(1));  // the request is in its handler now
  uint16_t port = server_->port();
  auto start = std::chrono::steady_clock::now();
  server_->Stop();
  auto took = std::chrono::steady_clock::now() - start;
  client.join();
  ASSERT_TRUE(inflight && inflight->ok()) << (inflight ? inflight->status().ToString() : "");
  EXPECT_EQ((*inflight)->status, 200);
  EXPECT_EQ((*inflight)->body, "done");
  EXPECT_EQ((*inflight)->Header("Connection"), "close");
  EXPECT_LT(took, 3s);
  EXPECT_TRUE(idle.WaitForClose(500ms));
  EXPECT_FALSE(RawConn(port).connected());
  server_->Stop();  // idempotent
}

TEST_F(HttpServerTest, StopCutsOffSlowHandlersAndLateAnswersAreHarmless) {
  HttpServerOptions o;
  o.stop_timeout = 100ms;
  StartServer(o);
  std::string url = Url("/later?ms=400&i=late");
  std::optional<Result<HttpResponse>> r;
  std::jthread client([&] { r = HttpFetch("GET", url, {}, {}, 2000ms); });
  ASSERT_TRUE(LaterEntered(1));
  auto start = std::chrono::steady_clock::now();
  server_.reset();  // stops; the handler's thread still holds the Responder
  // Stop cut the handler off (the client's Unavailable below, not "late");
  // the bound only catches a Stop that hangs on it.
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  client.join();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status().code(), Code::kUnavailable) << r->status().ToString();
  // The fixture joins the handler thread, whose answer then goes nowhere.
}

// A handler that parks its Responder in work on the connection's own
// io_context (a timer here; an AsyncHttpClient call in the dataplane) when
// the server stops: the pending work held the Responder, the Responder its
// worker, the worker the io_context with the work, so none of it (nor the
// connection the read handler holds) was ever freed (LeakSanitizer's report
// in CI). Stopping must drop such work with its context.
TEST_F(HttpServerTest, WorkParkedOnTheIoContextIsFreedAtStop) {
  HttpServerOptions o;
  o.stop_timeout = 50ms;
  server_ = std::make_unique<HttpServer>(o);
  auto sentinel = std::make_shared<int>(1);
  std::weak_ptr<int> watch = sentinel;
  std::atomic<bool> parked{false};
  server_->Route("GET", "/park", [&, sentinel](HttpRequest&& req, Responder respond) {
    auto timer = std::make_shared<boost::asio::steady_timer>(*req.io_context, 1h);
    timer->async_wait([timer, sentinel, respond = std::move(respond)](auto) {
      respond(JsonOk(boost::json::object{}));
    });
    parked = true;
  });
  sentinel.reset();  // now only the route (and what it parks) holds it
  ASSERT_TRUE(server_->Start().ok());
  RawConn conn(server_->port());
  ASSERT_TRUE(conn.Send(RawGet("/park")));
  ASSERT_TRUE(testing::Eventually([&] { return parked.load(); }));
  server_.reset();
  EXPECT_TRUE(watch.expired()) << "work parked on a stopped server's io_context was never freed";
}

TEST_F(HttpServerTest, PortInUseIsUnavailable) {
  StartServer();
  HttpServerOptions o;
  o.port = server_->port();
  HttpServer second(o);
  Status st = second.Start();
  EXPECT_EQ(st.code(), Code::kUnavailable);
  EXPECT_EQ(st.message(),
            "cannot listen on 127.0.0.1:" + std::to_string(o.port) + ": Address already in use");
}

TEST(HttpServerHelpersTest, HopByHopHeaders) {
  for (const char* h : {"Connection", "keep-alive", "TE", "Trailer", "transfer-encoding", "Upgrade",
                        "Proxy-Authorization", "proxy-connection"}) {
    EXPECT_TRUE(IsHopByHopHeader(h)) << h;
  }
  for (const char* h : {"Host", "Content-Type", "Authorization", "Proxy", "X-Proxy-Id", "Tea"}) {
    EXPECT_FALSE(IsHopByHopHeader(h)) << h;
  }
}

TEST(HttpServerHelpersTest, HttpTokens) {
  for (const char* t : {"GET", "X-Trace", "a!#$%&'*+-.^_`|~z", "0"}) {
    EXPECT_TRUE(IsHttpToken(t)) << t;
  }
  for (const char* t :
       {"", "bad name", "a:b", "a\r\nb", "caf\xc3\xa9", "a\"b", "(x)", "a/b", "a\tb", "a\x7f"}) {
    EXPECT_FALSE(IsHttpToken(t)) << t;
  }
}

TEST(HttpServerHelpersTest, JsonHelpers) {
  HttpResponse e = JsonError(400, "bad", "a \"quoted\"\n\xff");
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.body, "{\"error\":\"a \\\"quoted\\\"\\n\xEF\xBF\xBD\",\"code\":\"bad\"}");
  HttpResponse s = JsonError(NotFound("function \"x\" not found"));
  EXPECT_EQ(s.status, 404);
  EXPECT_EQ(s.body, R"({"error":"function \"x\" not found","code":"not_found"})");
  EXPECT_TRUE(IsError(JsonError(Unavailable("x")), 503, "unavailable"));
  EXPECT_EQ(JsonOk(boost::json::object{{"a", 1}}).body, R"({"a":1})");

  HttpRequest req;
  req.headers = {{"Content-Type", "text/plain"}};
  EXPECT_EQ(req.Header("content-TYPE"), "text/plain");
  EXPECT_TRUE(req.HasHeader("CONTENT-type"));
  EXPECT_EQ(req.Header("missing"), "");
}

TEST(HttpServerHelpersTest, WaitForShutdownSignalReturnsOnSigterm) {
  // This set keeps Asio's process-wide handler installed from before the
  // kill until after it, so the signal can never take the default action
  // (terminating the test binary), whatever the timing.
  boost::asio::io_context guard_ioc;
  boost::asio::signal_set guard(guard_ioc, SIGTERM);
  // Repeated, in case one lands before WaitForShutdownSignal listens.
  std::atomic<bool> returned{false};
  std::jthread killer([&returned] {
    while (!returned) {
      std::this_thread::sleep_for(20ms);
      ::kill(::getpid(), SIGTERM);
    }
  });
  auto start = std::chrono::steady_clock::now();
  WaitForShutdownSignal();
  returned = true;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST(HttpServerHelpersTest, OptionsFromConfig) {
  ServerConfig c;
  c.max_body = 123;
  auto o = HttpServerOptions::FromConfig(c, 9091);
  EXPECT_EQ(o.port, 9091);
  EXPECT_EQ(o.max_body, 123u);
  c.port = 8000;
  EXPECT_EQ(HttpServerOptions::FromConfig(c, 9091).port, 8000);
}

// [server] io_threads = 0 is one per core, but never fewer than two (a
// single thread would stall every connection behind one slow handler).
TEST(HttpServerHelpersTest, IoThreadsFromConfig) {
  ServerConfig c;
  size_t cores = std::max(1u, std::thread::hardware_concurrency());
  EXPECT_EQ(HttpServerOptions::FromConfig(c, 9091).io_threads, std::max<size_t>(2, cores));
  c.io_threads = 5;
  EXPECT_EQ(HttpServerOptions::FromConfig(c, 9091).io_threads, 5u);
  c.io_threads = 1;
  EXPECT_EQ(HttpServerOptions::FromConfig(c, 9091).io_threads, 1u);
}

}  // namespace
}  // namespace aether
