// AsyncHttpClient against a real HttpServer on 127.0.0.1: answers and
// errors as HttpClient's, callbacks on the IO context named, kept
// connections (reused, at most max_connections_per_host, a stale one
// retried, one whose exchange timed out or failed never reused), waiting
// for a connection within the timeout, and Stop.
#include "common/async_http_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/metrics.h"
#include "common/testing/eventually.h"
#include "common/testing/temp_cert.h"

namespace aether {
namespace {

using namespace std::chrono_literals;
using testing::Eventually;

// Sends and hands back the future outcome.
std::future<Result<HttpResponse>> Begin(AsyncHttpClient& http, AsyncHttpRequest req) {
  auto p = std::make_shared<std::promise<Result<HttpResponse>>>();
  auto f = p->get_future();
  http.Send(std::move(req), [p](Result<HttpResponse> r) { p->set_value(std::move(r)); });
  return f;
}

// The outcome, or an error when none comes in 20 s: a client that hangs
// fails the test instead of hanging it.
Result<HttpResponse> Await(std::future<Result<HttpResponse>> f) {
  if (f.wait_for(20s) != std::future_status::ready) return Internal("no answer within 20 s");
  return f.get();
}

AsyncHttpRequest Post(std::string url, std::string_view body,
                      std::chrono::milliseconds timeout = 5s) {
  return AsyncHttpRequest{
      .method = "POST", .url = std::move(url), .body = body, .timeout = timeout};
}

// A server that echoes (/echo), holds requests until told (/hold) and
// records which client connections it saw.
class AsyncHttpClientTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(HttpServerOptions{}); }
  void TearDown() override {
    ReleaseHeld("late");
    server_->Stop();
  }

  void Start(HttpServerOptions o) {
    o.metrics = &registry_;
    server_ = std::make_unique<HttpServer>(o);
    server_->Route("POST", "/echo", [this](HttpRequest&& req, const Responder& respond) {
      Seen(req);
      HttpResponse r;
      r.content_type = "text/plain";
      r.body = std::move(req.body);
      respond(std::move(r));
    });
    server_->Route("GET", "/big", [](HttpRequest&&, const Responder& respond) {
      HttpResponse r;
      r.body.assign(4096, 'b');
      respond(std::move(r));
    });
    server_->Route("POST", "/hold", [this](HttpRequest&& req, Responder respond) {
      Seen(req);
      std::lock_guard lock(mu_);
      held_.push_back(std::move(respond));
      max_held_ = std::max(max_held_, held_.size());
    });
    ASSERT_TRUE(server_->Start().ok());
  }
  void Seen(const HttpRequest& req) {
    std::lock_guard lock(mu_);
    remotes_.insert(req.remote);
    ++calls_;
  }
  std::string Url(const std::string& path) const { return server_->url() + path; }
  size_t Connections() {
    std::lock_guard lock(mu_);
    return remotes_.size();
  }
  size_t Held() {
    std::lock_guard lock(mu_);
    return held_.size();
  }
  // Answers every held request with `body`.
  void ReleaseHeld(const std::string& body) {
    std::vector<Responder> held;
    {
      std::lock_guard lock(mu_);
      held.swap(held_);
    }
    for (Responder& r : held) r(HttpResponse{200, "text/plain", body, {}});
  }
  // Connections the server has open (its aether_http_connections gauge).
  double OpenAtServer() {
    std::string text = registry_.Render();
    std::string key = "\naether_http_connections ";
    size_t at = text.find(key);
    return at == std::string::npos ? -1 : std::stod(text.substr(at + key.size()));
  }

  int Calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }

  MetricsRegistry registry_;
  std::unique_ptr<HttpServer> server_;
  std::mutex mu_;
  std::set<std::string> remotes_;  // client ip:port seen = connections used
  int calls_ = 0;
  std::vector<Responder> held_;
  size_t max_held_ = 0;
};

TEST_F(AsyncHttpClientTest, ReusesOneConnectionForSequentialRequests) {
  auto http = NewAsyncHttpClient();
  for (int i = 0; i < 20; ++i) {
    std::string body = "n" + std::to_string(i);
    Result<HttpResponse> r = Await(Begin(*http, Post(Url("/echo"), body)));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, body);
    EXPECT_EQ(r->content_type, "text/plain");
    EXPECT_EQ(r->Header("Server"), "aether");
  }
  EXPECT_EQ(Connections(), 1u);
}

TEST_F(AsyncHttpClientTest, TheCallbackRunsOnTheIoContextNamed) {
  boost::asio::io_context io(1);
  auto guard = boost::asio::make_work_guard(io);
  std::thread runner([&] { io.run(); });
  auto http = NewAsyncHttpClient();
  std::promise<std::thread::id> where;
  http->Send(
      Post(Url("/echo"), "x"),
      [&](const Result<HttpResponse>& r) {
        EXPECT_TRUE(r.ok()) << r.status().ToString();
        where.set_value(std::this_thread::get_id());
      },
      &io);
  auto f = where.get_future();
  ASSERT_EQ(f.wait_for(20s), std::future_status::ready);
  EXPECT_EQ(f.get(), runner.get_id());
  http->Stop();  // before the context stops: it must outlive the requests
  guard.reset();
  runner.join();
}

TEST_F(AsyncHttpClientTest, AtMostMaxConnectionsPerHostTheRestWaitInOrder) {
  auto http = NewAsyncHttpClient({.max_connections_per_host = 2});
  std::vector<std::string> bodies;
  bodies.reserve(6);
  for (int i = 0; i < 6; ++i) bodies.push_back("b" + std::to_string(i));
  std::vector<std::future<Result<HttpResponse>>> answers;
  answers.reserve(bodies.size());
  for (const std::string& b : bodies) answers.push_back(Begin(*http, Post(Url("/hold"), b, 20s)));
  // Two at the server at a time; each release lets the next two in.
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(Eventually([&] { return Held() == 2; })) << "round " << round;
    ReleaseHeld("r" + std::to_string(round));
  }
  for (size_t i = 0; i < answers.size(); ++i) {
    Result<HttpResponse> r = Await(std::move(answers[i]));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->body, "r" + std::to_string(i / 2)) << "first come, first served";
  }
  EXPECT_EQ(max_held_, 2u);
  EXPECT_LE(Connections(), 2u);
}

TEST_F(AsyncHttpClientTest, WaitingForAConnectionCountsInTheTimeout) {
  auto http = NewAsyncHttpClient({.max_connections_per_host = 1});
  auto first = Begin(*http, Post(Url("/hold"), "a", 20s));
  ASSERT_TRUE(Eventually([&] { return Held() == 1; }));
  Result<HttpResponse> second = Await(Begin(*http, Post(Url("/echo"), "b", 100ms)));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kDeadlineExceeded);
  EXPECT_NE(second.status().message().find("waiting for a connection"), std::string::npos)
      << second.status().message();
  ReleaseHeld("done");
  EXPECT_EQ(Await(std::move(first))->body, "done");
  EXPECT_EQ(Calls(), 1) << "the request that timed out waiting was never sent";
}

// The answer to a request that timed out may still come: on a connection
// nobody reads any more, never as the answer to the next request.
TEST_F(AsyncHttpClientTest, AConnectionWhoseRequestTimedOutIsNotReused) {
  auto http = NewAsyncHttpClient({.max_connections_per_host = 1});
  Result<HttpResponse> r = Await(Begin(*http, Post(Url("/hold"), "a", 100ms)));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kDeadlineExceeded);
  EXPECT_EQ(r.status().message(), "HTTP POST " + Url("/hold") + " timed out after 100 ms");
  ReleaseHeld("late");
  Result<HttpResponse> next = Await(Begin(*http, Post(Url("/echo"), "next")));
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(next->body, "next");
  EXPECT_EQ(Connections(), 2u);
}

TEST_F(AsyncHttpClientTest, RetriesOnceWhenTheServerClosedAnIdleConnection) {
  HttpServerOptions o;
  o.idle_timeout = 50ms;
  server_->Stop();
  Start(o);
  auto http = NewAsyncHttpClient();
  ASSERT_TRUE(Await(Begin(*http, Post(Url("/echo"), "a"))).ok());
  // The server closes the kept connection once it has idled 50 ms.
  ASSERT_TRUE(Eventually([&] { return OpenAtServer() == 0; }));
  Result<HttpResponse> r = Await(Begin(*http, Post(Url("/echo"), "b")));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "b");
  EXPECT_EQ(Connections(), 2u) << "the second request went on a new connection";
  EXPECT_EQ(Calls(), 2) << "and was sent once";
}

TEST_F(AsyncHttpClientTest, AConnectionTheServerClosesAfterItsAnswerIsNotKept) {
  auto http = NewAsyncHttpClient();
  AsyncHttpRequest closing = Post(Url("/echo"), "a");
  closing.headers = {{"Connection", "close"}};
  ASSERT_TRUE(Await(Begin(*http, std::move(closing))).ok());
  Result<HttpResponse> r = Await(Begin(*http, Post(Url("/echo"), "b")));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Connections(), 2u);
  EXPECT_EQ(Calls(), 2);
}

// More than a socket buffer takes: written in parts. Over the server's
// max_body: its 413 is read even though the rest could not be sent.
TEST_F(AsyncHttpClientTest, LargeBodiesAndAnAnswerBeforeTheWholeBody) {
  auto http = NewAsyncHttpClient();
  std::string big(3 << 20, 'x');
  Result<HttpResponse> r = Await(Begin(*http, Post(Url("/echo"), big)));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body.size(), big.size());
  EXPECT_TRUE(r->body == big);
  std::string too_big(6 << 20, 'y');
  r = Await(Begin(*http, Post(Url("/echo"), too_big)));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 413);
}

TEST_F(AsyncHttpClientTest, Errors) {
  auto http = NewAsyncHttpClient({.max_response_bytes = 1024});
  Result<HttpResponse> refused = Await(Begin(*http, Post("http://127.0.0.1:1/x", "")));
  EXPECT_EQ(refused.status().code(), Code::kUnavailable);
  EXPECT_EQ(refused.status().message(), "cannot connect to 127.0.0.1:1: Connection refused");

  Result<HttpResponse> big = Await(Begin(*http, AsyncHttpRequest{.url = Url("/big")}));
  EXPECT_EQ(big.status().code(), Code::kResourceExhausted) << big.status().ToString();

  // Refused outright: answered before Send returns.
  bool answered = false;
  http->Send(Post("ftp://127.0.0.1/x", ""), [&](const Result<HttpResponse>& r) {
    answered = true;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  });
  EXPECT_TRUE(answered);
  AsyncHttpRequest bad = Post(Url("/echo"), "x");
  bad.headers = {{"X-Split", "a\r\nInjected: 1"}};
  answered = false;
  http->Send(std::move(bad), [&](const Result<HttpResponse>& r) {
    answered = true;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  });
  EXPECT_TRUE(answered);
  EXPECT_EQ(Calls(), 0);
}

// A raw TCP server on 127.0.0.1 that answers each connection's request
// with `answer`, written in pieces of `piece` bytes a millisecond apart, and
// then closes it.
class RawServer {
 public:
  RawServer(std::string answer, size_t piece) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd_, 8), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this, answer = std::move(answer), piece] {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      char buf[4096];
      (void)::recv(c, buf, sizeof buf, 0);  // the request (small: one read)
      for (size_t at = 0; at < answer.size(); at += piece) {
        std::string_view part = std::string_view(answer).substr(at, piece);
        (void)::send(c, part.data(), part.size(), MSG_NOSIGNAL);
        std::this_thread::sleep_for(1ms);
      }
      ::close(c);
    });
  }
  ~RawServer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/x"; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
};

// The answer is read and parsed as it arrives: byte by byte, with a body
// that ends where the connection does, or cut off (an error, never a
// truncated answer).
TEST(AsyncHttpClientReadTest, AnswersInPiecesToTheEndOfStreamOrCutOff) {
  auto http = NewAsyncHttpClient();
  {
    RawServer server("HTTP/1.1 200 OK\r\nContent-Length: 11\r\nX-A: b\r\n\r\nhello world", 1);
    Result<HttpResponse> r = Await(Begin(*http, Post(server.Url(), "{}")));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "hello world");
    EXPECT_EQ(r->Header("X-A"), "b");
  }
  {
    RawServer server("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end", 5);
    Result<HttpResponse> r = Await(Begin(*http, Post(server.Url(), "{}")));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->body, "until the end");
  }
  {
    RawServer server("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part", 4);
    Result<HttpResponse> r = Await(Begin(*http, Post(server.Url(), "{}")));
    EXPECT_EQ(r.status().code(), Code::kUnavailable) << r.status().ToString();
    EXPECT_NE(r.status().message().find("reading the response"), std::string::npos)
        << r.status().message();
  }
  {
    RawServer server("HTTP/1.1 200 OK\r\nContent-Le", 3);  // the header cut off
    Result<HttpResponse> r = Await(Begin(*http, Post(server.Url(), "{}")));
    EXPECT_EQ(r.status().code(), Code::kUnavailable) << r.status().ToString();
  }
  {
    RawServer server("", 1);  // closed without a byte
    Result<HttpResponse> r = Await(Begin(*http, Post(server.Url(), "{}")));
    EXPECT_EQ(r.status().code(), Code::kUnavailable) << r.status().ToString();
  }
  {
    RawServer server("NOT HTTP AT ALL\r\n\r\n", 64);
    Result<HttpResponse> r = Await(Begin(*http, Post(server.Url(), "{}")));
    EXPECT_EQ(r.status().code(), Code::kUnavailable) << r.status().ToString();
  }
}

TEST_F(AsyncHttpClientTest, StopCancelsWaitersAndWaitsForRequestsInFlight) {
  auto http = NewAsyncHttpClient({.max_connections_per_host = 1});
  auto sent = Begin(*http, Post(Url("/hold"), "a", 20s));
  ASSERT_TRUE(Eventually([&] { return Held() == 1; }));
  auto waiting = Begin(*http, Post(Url("/echo"), "b", 20s));
  auto stopped = std::async(std::launch::async, [&] { http->Stop(); });
  Result<HttpResponse> w = Await(std::move(waiting));
  EXPECT_EQ(w.status().code(), Code::kUnavailable);
  EXPECT_EQ(w.status().message(), "HTTP POST " + Url("/echo") + " cancelled");
  EXPECT_NE(stopped.wait_for(0s), std::future_status::ready) << "Stop waits for the one sent";
  ReleaseHeld("answered");
  EXPECT_EQ(Await(std::move(sent))->body, "answered");
  ASSERT_EQ(stopped.wait_for(20s), std::future_status::ready);
  bool answered = false;
  http->Send(Post(Url("/echo"), "c"), [&](const Result<HttpResponse>& r) {
    answered = true;
    EXPECT_EQ(r.status().code(), Code::kUnavailable);
  });
  EXPECT_TRUE(answered) << "after Stop: at once";
  EXPECT_EQ(Calls(), 1);
}

TEST_F(AsyncHttpClientTest, AbortOnStopCutsRequestsInFlight) {
  auto http = NewAsyncHttpClient({.max_connections_per_host = 1, .abort_on_stop = true});
  auto sent = Begin(*http, Post(Url("/hold"), "a", 20s));
  ASSERT_TRUE(Eventually([&] { return Held() == 1; }));
  auto waiting = Begin(*http, Post(Url("/echo"), "b", 20s));
  http->Stop();  // returns without the held answer
  Result<HttpResponse> s = Await(std::move(sent));
  EXPECT_EQ(s.status().code(), Code::kUnavailable);
  EXPECT_EQ(s.status().message(), "HTTP POST " + Url("/hold") + " cancelled");
  Result<HttpResponse> w = Await(std::move(waiting));
  EXPECT_EQ(w.status().message(), "HTTP POST " + Url("/echo") + " cancelled");
  ReleaseHeld("too late");
  EXPECT_EQ(Calls(), 1);
}

TEST(AsyncHttpClientTlsTest, TlsConnectionsAreVerifiedAndKept) {
  testing::TempCert cert;
  ASSERT_TRUE(cert.ok()) << "openssl req failed";
  HttpServer server(cert.ServerOptions());
  std::set<std::string> remotes;
  std::mutex mu;
  server.Route("POST", "/echo", [&](HttpRequest&& req, const Responder& respond) {
    {
      std::lock_guard lock(mu);
      remotes.insert(req.remote);
    }
    respond(HttpResponse{200, "text/plain", std::move(req.body), {}});
  });
  ASSERT_TRUE(server.Start().ok());
  auto http = NewAsyncHttpClient({.ca_file = cert.cert()});
  for (int i = 0; i < 3; ++i) {
    std::string body = "tls " + std::to_string(i);
    Result<HttpResponse> r = Await(Begin(*http, Post(server.url() + "/echo", body)));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->body, body);
  }
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(remotes.size(), 1u);
  }
  // The system store does not know the self-signed certificate.
  auto strict = NewAsyncHttpClient();
  Result<HttpResponse> r = Await(Begin(*strict, Post(server.url() + "/echo", "x")));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_NE(r.status().message().find("certificate verify failed"), std::string::npos)
      << r.status().message();
  http->Stop();
  strict->Stop();
  server.Stop();
}

}  // namespace
}  // namespace aether
