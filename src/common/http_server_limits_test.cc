// The HTTP server against hostile clients: slowloris headers and bodies,
// connection floods from one address, and large unauthenticated uploads
// that a route's HeaderCheck refuses before reading them. Real sockets on
// 127.0.0.1; timeouts are short here and the bounds generous.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "common/http_server.h"
#include "common/metrics.h"
#include "common/raw_conn_test_util.h"
#include "common/testing/http_fetch.h"

namespace aether {
namespace {

using namespace std::chrono_literals;
using testing::RawConn;
using testing::RawGet;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kGoodToken = "Bearer a-token-long-enough";

class HttpServerLimitsTest : public ::testing::Test {
 protected:
  void StartServer(HttpServerOptions o) {
    o.metrics = &registry_;
    server_ = std::make_unique<HttpServer>(std::move(o));
    server_->Route("GET", "/hello", [](HttpRequest&&, Responder respond) {
      respond(JsonOk(boost::json::object{{"hello", "world"}}));
    });
    server_->Route("POST", "/echo", [](HttpRequest&& req, Responder respond) {
      HttpResponse r;
      r.body = std::move(req.body);
      respond(std::move(r));
    });
    // Refuses, on the header alone, a request without kGoodToken.
    HeaderCheck check = [this](const HttpRequest& req) -> std::optional<HttpResponse> {
      ++checks_;
      if (req.Header("Authorization") == kGoodToken) return std::nullopt;
      return JsonError(401, "unauthenticated", "a token is required");
    };
    Handler count_body = [this](HttpRequest&& req, Responder respond) {
      ++handled_;
      respond(JsonOk(boost::json::object{{"bytes", req.body.size()}}));
    };
    server_->Route("POST", "/secure", GuardedHandler{check, count_body});
    server_->Route("GET", "/secure", GuardedHandler{check, count_body});
    Status st = server_->Start();
    ASSERT_TRUE(st.ok()) << st.ToString();
  }

  double Count(std::string_view family, std::string_view label, std::string_view value) {
    return registry_.AddCounter(family, "").WithLabels({{label, value}}).Value();
  }
  std::string Url(std::string_view path) const { return server_->url() + std::string(path); }
  bool HelloWorks() {
    auto r = HttpFetch("GET", Url("/hello"), {}, {}, 3000ms);
    return r.ok() && r->status == 200;
  }

  MetricsRegistry registry_;  // outlives server_
  std::unique_ptr<HttpServer> server_;
  std::atomic<int> checks_{0};
  std::atomic<int> handled_{0};
};

// Each connection trickles a header a byte at a time and never finishes it:
// all are answered 408 and closed once header_timeout has passed, while a
// normal request is served meanwhile. (Before, each was held for the whole
// idle_timeout: 60 s.)
TEST_F(HttpServerLimitsTest, SlowlorisHeadersAreCutOffAtHeaderTimeout) {
  HttpServerOptions o;
  o.header_timeout = 1s;
  StartServer(o);
  constexpr int kConns = 20;
  std::vector<std::unique_ptr<RawConn>> conns;
  for (int i = 0; i < kConns; ++i) conns.push_back(std::make_unique<RawConn>(server_->port()));
  const std::string header = "GET /hello HTTP/1.1\r\nHost: t\r\nX-Pad: " + std::string(200, 'a');
  auto start = Clock::now();
  bool served = false;
  size_t sent = 0;
  int open = kConns;
  while (open > 0 && Clock::now() - start < 8s) {
    open = 0;
    for (auto& c : conns) {
      if (!c->Silent()) continue;
      ++open;
      c->Send(std::string_view(header).substr(sent % header.size(), 1));
    }
    ++sent;
    if (!served && Clock::now() - start > 300ms) served = HelloWorks();
    std::this_thread::sleep_for(250ms);  // the attack's pace (one byte per 250 ms), not a wait
  }
  auto took = Clock::now() - start;
  EXPECT_TRUE(served) << "a normal request is served during the attack";
  EXPECT_EQ(open, 0) << "slowloris connections still open after " << (took / 1ms) << " ms";
  EXPECT_LT(took, 6s);
  EXPECT_GE(took, 900ms) << "not before header_timeout";
  auto answer = conns[0]->Read(100ms);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->result_int(), 408u);
  EXPECT_GE(Count("aether_http_request_timeouts_total", "phase", "header"), kConns);
  EXPECT_TRUE(HelloWorks());
}

// Connecting and sending nothing (or stopping in the TLS handshake) is
// bounded by header_timeout too, from accept; such a connection is closed
// without an answer.
TEST_F(HttpServerLimitsTest, SilentNewConnectionIsClosedAtHeaderTimeout) {
  HttpServerOptions o;
  o.header_timeout = 500ms;
  StartServer(o);
  RawConn c(server_->port());
  ASSERT_TRUE(c.connected());
  auto start = Clock::now();
  EXPECT_TRUE(c.WaitForClose(5s));
  EXPECT_LT(Clock::now() - start, 4s);
}

// Between requests a kept-alive connection is idle, not slow: header_timeout
// starts with the next request's first byte.
TEST_F(HttpServerLimitsTest, KeepAliveIdleTimeIsNotHeaderTime) {
  HttpServerOptions o;
  o.header_timeout = 300ms;
  StartServer(o);
  RawConn c(server_->port());
  ASSERT_TRUE(c.Send(RawGet("/hello")));
  ASSERT_TRUE(c.Read());
  std::this_thread::sleep_for(1s);  // idle past header_timeout: the socket timer under test
  ASSERT_TRUE(c.Send(RawGet("/hello")));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 200u);
}

// A body trickled far below min_body_rate is answered 408 once
// body_timeout (plus what the bytes received earned) has passed.
TEST_F(HttpServerLimitsTest, SlowBodyIsCutOff) {
  HttpServerOptions o;
  o.body_timeout = 1s;
  o.min_body_rate = 1 << 20;
  StartServer(o);
  RawConn c(server_->port());
  ASSERT_TRUE(c.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n"));
  auto start = Clock::now();
  while (c.Silent() && Clock::now() - start < 8s) {
    c.Send("x");
    std::this_thread::sleep_for(200ms);  // the trickle's pace, not a wait
  }
  EXPECT_LT(Clock::now() - start, 6s);
  auto r = c.Read(1000ms);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 408u);
  EXPECT_NE(r->body().find("\"code\":\"request_timeout\""), std::string::npos) << r->body();
  EXPECT_EQ(Count("aether_http_request_timeouts_total", "phase", "body"), 1);
  EXPECT_TRUE(HelloWorks());
}

// A body that keeps coming at min_body_rate may take longer than
// body_timeout: every byte received extends the deadline.
TEST_F(HttpServerLimitsTest, BodyAtTheMinimumRateIsServed) {
  HttpServerOptions o;
  o.body_timeout = 400ms;
  o.min_body_rate = 10 << 10;
  StartServer(o);
  RawConn c(server_->port());
  constexpr size_t kChunk = 3 << 10;
  constexpr int kChunks = 10;
  ASSERT_TRUE(c.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                     std::to_string(kChunk * kChunks) + "\r\n\r\n"));
  for (int i = 0; i < kChunks; ++i) {  // ~30 KB/s for ~1 s
    ASSERT_TRUE(c.Send(std::string(kChunk, 'b'))) << i;
    std::this_thread::sleep_for(100ms);  // the body's pace, not a wait
  }
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 200u);
  EXPECT_EQ(r->body().size(), kChunk * kChunks);
}

// Connections from one address beyond max_connections_per_client are
// closed at once and counted; the others are unaffected, and a slot that
// frees up can be used again.
TEST_F(HttpServerLimitsTest, ConnectionsPerClientAreCapped) {
  HttpServerOptions o;
  o.max_connections_per_client = 3;
  StartServer(o);
  std::vector<std::unique_ptr<RawConn>> conns;
  for (int i = 0; i < 3; ++i) {
    conns.push_back(std::make_unique<RawConn>(server_->port()));
    ASSERT_TRUE(conns.back()->Send(RawGet("/hello")));
    ASSERT_TRUE(conns.back()->Read()) << i;
  }
  RawConn over(server_->port());
  over.Send(RawGet("/hello"));
  EXPECT_FALSE(over.Read(3000ms)) << "the fourth connection is refused";
  EXPECT_TRUE(over.WaitForClose(100ms));
  EXPECT_EQ(Count("aether_http_connections_rejected_total", "reason", "client_limit"), 1);
  for (auto& c : conns) {  // still served
    ASSERT_TRUE(c->Send(RawGet("/hello")));
    EXPECT_TRUE(c->Read());
  }
  conns.pop_back();
  bool reused = false;
  for (auto start = Clock::now(); !reused && Clock::now() - start < 5s;) {
    RawConn again(server_->port());
    again.Send(RawGet("/hello"));
    reused = again.Read(1000ms).has_value();
  }
  EXPECT_TRUE(reused) << "a closed connection's slot is released";
}

TEST_F(HttpServerLimitsTest, ConnectionsPerServerAreCapped) {
  HttpServerOptions o;
  o.max_connections = 2;
  o.max_connections_per_client = 0;  // no per-client cap
  StartServer(o);
  RawConn a(server_->port()), b(server_->port());
  for (RawConn* c : {&a, &b}) {
    ASSERT_TRUE(c->Send(RawGet("/hello")));
    ASSERT_TRUE(c->Read());
  }
  RawConn over(server_->port());
  over.Send(RawGet("/hello"));
  EXPECT_FALSE(over.Read(3000ms));
  EXPECT_EQ(Count("aether_http_connections_rejected_total", "reason", "server_limit"), 1);
}

// Headers announcing 4 MB and a little of the body, without a token: the
// route's HeaderCheck answers 401 at once and the server never waits for
// (or buffers) the rest. (Before, the 401 came only after the whole body.)
TEST_F(HttpServerLimitsTest, HeaderCheckRefusesBeforeReadingTheBody) {
  HttpServerOptions o;
  o.max_body = 8 << 20;
  StartServer(o);
  RawConn c(server_->port());
  ASSERT_TRUE(c.Send("POST /secure HTTP/1.1\r\nHost: t\r\nContent-Length: 4194304\r\n\r\n" +
                     std::string(1000, 'x')));
  auto start = Clock::now();
  auto r = c.Read(3000ms);
  ASSERT_TRUE(r) << "no prompt answer";
  EXPECT_LT(Clock::now() - start, 2500ms);
  EXPECT_EQ(r->result_int(), 401u);
  EXPECT_EQ((*r)[boost::beast::http::field::connection], "close");
  EXPECT_TRUE(c.WaitForClose());
  EXPECT_EQ(handled_.load(), 0);

  // "Expect: 100-continue" gets the refusal instead of the go-ahead.
  RawConn e(server_->port());
  ASSERT_TRUE(
      e.Send("POST /secure HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
             "Content-Length: 4194304\r\n\r\n"));
  auto er = e.Read();
  ASSERT_TRUE(er);
  EXPECT_EQ(er->result_int(), 401u);

  // A refused request without a body keeps its connection.
  RawConn k(server_->port());
  ASSERT_TRUE(k.Send(RawGet("/secure")));
  auto kr = k.Read();
  ASSERT_TRUE(kr);
  EXPECT_EQ(kr->result_int(), 401u);
  ASSERT_TRUE(k.Send(RawGet("/hello")));
  EXPECT_TRUE(k.Read());

  // With the token the body is read and the handler runs.
  auto ok = HttpFetch("POST", Url("/secure"), std::string(100000, 'y'),
                      {{"Authorization", std::string(kGoodToken)}});
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->body, R"({"bytes":100000})");
  EXPECT_EQ(handled_.load(), 1);
}

// No route: 404 as soon as the header is in, whatever body is announced.
TEST_F(HttpServerLimitsTest, UnknownRouteIsAnsweredBeforeTheBody) {
  StartServer({});
  RawConn c(server_->port());
  ASSERT_TRUE(c.Send("POST /nope HTTP/1.1\r\nHost: t\r\nContent-Length: 4000000\r\n\r\n"));
  auto r = c.Read(3000ms);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 404u);
  EXPECT_TRUE(c.WaitForClose());
}

TEST(HttpServerLimitsConfigTest, OptionsFromConfig) {
  ServerConfig c;
  c.header_timeout = 3s;
  c.body_timeout = 4s;
  c.min_body_rate = 5000;
  c.max_connections = 6;
  c.max_connections_per_client = 7;
  auto o = HttpServerOptions::FromConfig(c, 9091);
  EXPECT_EQ(o.header_timeout, 3s);
  EXPECT_EQ(o.body_timeout, 4s);
  EXPECT_EQ(o.min_body_rate, 5000u);
  EXPECT_EQ(o.max_connections, 6u);
  EXPECT_EQ(o.max_connections_per_client, 7u);
}

}  // namespace
}  // namespace aether
