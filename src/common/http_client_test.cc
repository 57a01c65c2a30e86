#include "common/http_client.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <set>
#include <stop_token>
#include <thread>
#include <vector>

#include "common/testing/fake_http_client.h"
#include "common/testing/http_fetch.h"
#include "common/testing/temp_cert.h"

namespace aether {
namespace {

using namespace std::chrono_literals;
using testing::TempCert;

void AddRoutes(HttpServer& server) {
  server.Route("POST", "/echo", [](HttpRequest&& req, Responder respond) {
    HttpResponse r;
    r.content_type = "text/plain";
    r.body = std::move(req.body);
    respond(std::move(r));
  });
  server.Route("GET", "/big", [](HttpRequest&& req, Responder respond) {
    HttpResponse r;
    r.body.assign(std::stoul(req.query.at("n")), 'b');
    respond(std::move(r));
  });
  // Answers after 500 ms, from another thread: longer than the client waits.
  server.Route("GET", "/stall", [](HttpRequest&&, Responder respond) {
    std::thread([respond = std::move(respond)] {
      std::this_thread::sleep_for(500ms);
      respond(HttpResponse{});
    }).detach();
  });
}

TEST(HttpClientTest, TlsRoundTrip) {
  TempCert cert;
  ASSERT_TRUE(cert.ok()) << "openssl req failed";
  HttpServer server(cert.ServerOptions());
  AddRoutes(server);
  ASSERT_TRUE(server.Start().ok());
  ASSERT_TRUE(server.url().starts_with("https://127.0.0.1:"));

  HttpClientOptions trust;
  trust.ca_file = cert.cert();
  auto trusting = NewHttpClient(trust);
  auto r = trusting->Fetch("POST", server.url() + "/echo", "over tls", {}, 3000ms);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "over tls");

  auto localhost = trusting->Fetch(
      "POST", "https://localhost:" + std::to_string(server.port()) + "/echo", "name", {}, 3000ms);
  ASSERT_TRUE(localhost.ok()) << localhost.status().ToString();
  EXPECT_EQ(localhost->body, "name");

  // The system store does not know a self-signed certificate.
  auto untrusted = NewHttpClient()->Fetch("POST", server.url() + "/echo", "x", {}, 3000ms);
  ASSERT_FALSE(untrusted.ok());
  EXPECT_EQ(untrusted.status().code(), Code::kUnavailable);
  EXPECT_NE(untrusted.status().message().find("TLS handshake"), std::string::npos)
      << untrusted.status().message();

  HttpClientOptions insecure;
  insecure.insecure_skip_verify = true;
  auto skipped = NewHttpClient(insecure)->Fetch("POST", server.url() + "/echo", "y", {}, 3000ms);
  ASSERT_TRUE(skipped.ok()) << skipped.status().ToString();
  EXPECT_EQ(skipped->body, "y");

  // Plain HTTP to the TLS port is not answered as HTTP; the error says
  // what to change, not only "end of stream".
  auto plain = NewHttpClient()->Fetch(
      "GET", "http://127.0.0.1:" + std::to_string(server.port()) + "/echo", {}, {}, 2000ms);
  ASSERT_FALSE(plain.ok());
  EXPECT_NE(plain.status().message().find("if it serves HTTPS, use an https:// URL"),
            std::string::npos)
      << plain.status().message();
}

TEST(HttpClientTest, BadTlsFilesFailStart) {
  HttpServerOptions o;
  o.tls_cert = "/nonexistent/cert.pem";
  o.tls_key = "/nonexistent/key.pem";
  HttpServer server(o);
  Status st = server.Start();
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("/nonexistent/cert.pem"), std::string::npos) << st.message();
  o.tls_key.clear();
  EXPECT_EQ(HttpServer(o).Start().code(), Code::kInvalidArgument);
}

TEST(HttpClientTest, ConnectionRefusedIsUnavailable) {
  uint16_t port;
  {
    HttpServer server(HttpServerOptions{});
    ASSERT_TRUE(server.Start().ok());
    port = server.port();
  }
  auto r = HttpFetch("GET", "http://127.0.0.1:" + std::to_string(port) + "/", {}, {}, 2000ms);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_EQ(r.status().message(),
            "cannot connect to 127.0.0.1:" + std::to_string(port) + ": Connection refused");
  EXPECT_TRUE(NothingWasSent(r.status()));
  // What may have reached a server is not "nothing sent".
  EXPECT_FALSE(NothingWasSent(DeadlineExceeded("no answer from 127.0.0.1:1 within 2000 ms")));
  EXPECT_FALSE(NothingWasSent(Unavailable("connection to 127.0.0.1:1 lost: end of stream")));
  EXPECT_FALSE(NothingWasSent(InvalidArgument("cannot connect to nothing")));
}

TEST(HttpClientTest, BadUrls) {
  EXPECT_EQ(HttpFetch("GET", "not a url").status().code(), Code::kInvalidArgument);
  auto ftp = HttpFetch("GET", "ftp://127.0.0.1/x");
  EXPECT_EQ(ftp.status().code(), Code::kInvalidArgument);
  EXPECT_NE(ftp.status().message().find("unsupported URL scheme \"ftp\""), std::string::npos);
  // Boost.URL would send these to 1.2.3.4 (boostorg/url#770).
  for (const char* url : {"http://1.2.3.4.example.com/", "http://1.2.3.4.5/",
                          "http://127.0.0.1.:80/", "http://127.0.0.1%00.example.com/"}) {
    EXPECT_EQ(HttpFetch("GET", url).status().code(), Code::kInvalidArgument) << url;
  }
}

// check_address sees every resolved address; only accepted ones are tried.
TEST(HttpClientTest, CheckAddressDecidesWhereToConnect) {
  HttpServer server(HttpServerOptions{});
  AddRoutes(server);
  ASSERT_TRUE(server.Start().ok());
  std::string url = "http://localhost:" + std::to_string(server.port()) + "/echo";

  std::vector<std::string> seen;
  auto http = NewHttpClient();
  HttpClientRequest refuse;
  refuse.method = "POST";
  refuse.url = url;
  refuse.body = "x";
  refuse.timeout = 2000ms;
  refuse.check_address = [&seen](const IpAddress& a) {
    seen.push_back(a.ToString());
    return PermissionDenied("no " + a.ToString());
  };
  auto r = http->Send(refuse);
  EXPECT_EQ(r.status().code(), Code::kPermissionDenied) << r.status().ToString();
  EXPECT_EQ(r.status().message(), "no " + seen.at(0));
  EXPECT_NE(std::find(seen.begin(), seen.end(), "127.0.0.1"), seen.end());

  // Accepting only 127.0.0.1 (where the server listens) connects there.
  HttpClientRequest v4 = refuse;
  v4.body = "through";
  v4.check_address = [](const IpAddress& a) {
    return a == *ParseIpAddress("127.0.0.1") ? OkStatus() : PermissionDenied("not v4");
  };
  auto ok = http->Send(v4);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->body, "through");
}

TEST(HttpClientTest, TimeoutAndResponseLimit) {
  HttpServer server(HttpServerOptions{});
  AddRoutes(server);
  ASSERT_TRUE(server.Start().ok());

  // /stall answers after 500 ms: DeadlineExceeded (not the answer) shows
  // that the 200 ms timeout ended the fetch.
  auto stalled = HttpFetch("GET", server.url() + "/stall", {}, {}, 200ms);
  EXPECT_EQ(stalled.status().code(), Code::kDeadlineExceeded);

  HttpClientOptions small;
  small.max_response_bytes = 1000;
  auto limited = NewHttpClient(small);
  auto ok = limited->Fetch("GET", server.url() + "/big?n=1000", {}, {}, 2000ms);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->body.size(), 1000u);
  auto big = limited->Fetch("GET", server.url() + "/big?n=1001", {}, {}, 2000ms);
  EXPECT_EQ(big.status().code(), Code::kResourceExhausted);
  server.Stop();
}

// A server that records which connection (client ip:port) each request
// came on, and can hold requests unanswered until the test ends.
class KeepAliveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HttpServerOptions o;
    o.idle_timeout = 300ms;
    server_ = std::make_unique<HttpServer>(o);
    server_->Route("POST", "/echo", [this](HttpRequest&& req, Responder respond) {
      {
        std::lock_guard lock(mu_);
        remotes_.insert(req.remote);
        connection_headers_.emplace_back(req.Header("Connection"));
      }
      HttpResponse r;
      r.body = req.body;
      respond(std::move(r));
    });
    server_->Route("GET", "/hold", [this](HttpRequest&&, Responder respond) {
      std::lock_guard lock(mu_);
      held_.push_back(std::move(respond));
      cv_.notify_all();
    });
    ASSERT_TRUE(server_->Start().ok());
  }
  void TearDown() override {
    {
      std::lock_guard lock(mu_);
      for (Responder& r : held_) r(HttpResponse{});
    }
    server_->Stop();
  }
  std::string Url(const std::string& path) const { return server_->url() + path; }
  size_t Connections() {
    std::lock_guard lock(mu_);
    return remotes_.size();
  }
  bool WaitHeld(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 5s, [&] { return held_.size() >= n; });
  }

  std::unique_ptr<HttpServer> server_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::set<std::string> remotes_;  // client ip:port seen = connections used
  std::vector<std::string> connection_headers_;
  std::vector<Responder> held_;
};

TEST_F(KeepAliveTest, ReusesOneConnectionForSequentialRequests) {
  auto http = NewHttpClient({.max_idle_per_host = 64});
  for (int i = 0; i < 20; ++i) {
    auto r = http->Fetch("POST", Url("/echo"), "n" + std::to_string(i), {}, 2s);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "n" + std::to_string(i));
  }
  EXPECT_EQ(Connections(), 1u);
  std::lock_guard lock(mu_);
  EXPECT_EQ(connection_headers_[0], "") << "no Connection: close when the connection is kept";
}

TEST_F(KeepAliveTest, WithoutKeepingEveryRequestHasItsOwnConnection) {
  auto http = NewHttpClient();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(http->Fetch("POST", Url("/echo"), "x").ok());
  EXPECT_EQ(Connections(), 3u);
  std::lock_guard lock(mu_);
  EXPECT_EQ(connection_headers_[0], "close");
}

TEST_F(KeepAliveTest, RetriesWhenTheServerClosedAnIdleConnection) {
  auto http = NewHttpClient({.max_idle_per_host = 64});
  ASSERT_TRUE(http->Fetch("POST", Url("/echo"), "a", {}, 2s).ok());
  std::this_thread::sleep_for(800ms);  // past the server's idle timeout
  auto r = http->Fetch("POST", Url("/echo"), "b", {}, 2s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "b");
  EXPECT_EQ(Connections(), 2u) << "the second request went on a new connection";
}

TEST_F(KeepAliveTest, ConcurrentCallersAndErrors) {
  auto http = NewHttpClient({.max_idle_per_host = 64});
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        auto r = http->Fetch("POST", Url("/echo"), "x", {}, 2s);
        if (r.ok() && r->body == "x") ok.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 100);
  EXPECT_LE(Connections(), 4u);

  auto refused = http->Fetch("POST", "http://127.0.0.1:1/echo", "x", {}, 2s);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kUnavailable);
  EXPECT_TRUE(refused.status().message().starts_with("cannot connect"))
      << refused.status().message();
  EXPECT_FALSE(http->Fetch("POST", "not a url", "x", {}, 1s).ok());
}

// A request that checks addresses never rides a connection nobody checked
// for it, and its own connection is not kept for others.
TEST_F(KeepAliveTest, AddressCheckedRequestsConnectOnTheirOwn) {
  auto http = NewHttpClient({.max_idle_per_host = 64});
  ASSERT_TRUE(http->Fetch("POST", Url("/echo"), "kept").ok());
  HttpClientRequest checked;
  checked.method = "POST";
  checked.url = Url("/echo");
  checked.body = "checked";
  int asked = 0;
  checked.check_address = [&asked](const IpAddress&) {
    ++asked;
    return OkStatus();
  };
  auto r = http->Send(checked);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(asked, 1);
  EXPECT_EQ(Connections(), 2u);
  ASSERT_TRUE(http->Fetch("POST", Url("/echo"), "kept again").ok());
  EXPECT_EQ(Connections(), 2u) << "the first connection again";
  std::lock_guard lock(mu_);
  EXPECT_EQ(connection_headers_[1], "close");
}

TEST_F(KeepAliveTest, CancelEndsARequestInFlight) {
  auto http = NewHttpClient({.max_idle_per_host = 4});
  std::stop_source stop;
  HttpClientRequest poll;
  poll.url = Url("/hold");
  poll.timeout = 30s;
  poll.cancel = stop.get_token();
  Result<HttpResponse> r = Internal("not done");
  std::thread client([&] { r = http->Send(poll); });
  ASSERT_TRUE(WaitHeld(1));
  auto start = std::chrono::steady_clock::now();
  stop.request_stop();
  client.join();
  // Generous: the point is "not the 30 s timeout".
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_EQ(r.status().code(), Code::kUnavailable) << r.status().ToString();
  EXPECT_NE(r.status().message().find("cancelled"), std::string::npos) << r.status().message();
  // The cancelled connection is not kept: the next request works.
  auto next = http->Fetch("POST", Url("/echo"), "after", {}, 2s);
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(next->body, "after");
}

TEST_F(KeepAliveTest, ACancelledRequestSendsNothing) {
  auto http = NewHttpClient({.max_idle_per_host = 4});
  std::stop_source stop;
  stop.request_stop();
  HttpClientRequest req;
  req.method = "POST";
  req.url = Url("/echo");
  req.body = "never";
  req.cancel = stop.get_token();
  auto r = http->Send(req);
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_EQ(r.status().message(), "HTTP POST " + Url("/echo") + " cancelled");
  EXPECT_EQ(Connections(), 0u);
}

TEST(HttpClientTest, TlsConnectionsAreKeptToo) {
  TempCert cert;
  ASSERT_TRUE(cert.ok()) << "openssl req failed";
  HttpServer server(cert.ServerOptions());
  std::mutex mu;
  std::set<std::string> remotes;
  server.Route("POST", "/echo", [&](HttpRequest&& req, Responder respond) {
    {
      std::lock_guard lock(mu);
      remotes.insert(req.remote);
    }
    HttpResponse r;
    r.body = std::move(req.body);
    respond(std::move(r));
  });
  ASSERT_TRUE(server.Start().ok());
  auto http = NewHttpClient({.max_idle_per_host = 2, .ca_file = cert.cert()});
  for (int i = 0; i < 3; ++i) {
    auto r = http->Fetch("POST", server.url() + "/echo", "tls " + std::to_string(i), {}, 3s);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->body, "tls " + std::to_string(i));
  }
  std::lock_guard lock(mu);
  EXPECT_EQ(remotes.size(), 1u);
}

TEST(FakeHttpClientTest, RecordsAnswersAndCancelsParkedRequests) {
  FakeHttpClient fake([&fake](const HttpClientRequest& r) -> Result<HttpResponse> {
    if (r.url.ends_with("/poll")) fake.Park(r, 30s);
    return FakeHttpClient::Reply(200, "{}");
  });
  auto r = fake.Fetch("POST", "http://control:9090/x?y=1", "body", {{"X-A", "1"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  ASSERT_EQ(fake.requests().size(), 1u);
  EXPECT_EQ(fake.requests()[0].Target(), "/x?y=1");
  EXPECT_EQ(fake.requests()[0].body, "body");
  EXPECT_EQ(fake.requests()[0].Header("X-A"), "1");

  std::stop_source stop;
  HttpClientRequest poll;
  poll.url = "http://control:9090/poll";
  poll.cancel = stop.get_token();
  Result<HttpResponse> parked = Internal("not done");
  std::thread t([&] { parked = fake.Send(poll); });
  ASSERT_TRUE(fake.WaitParked(1, 5s));
  stop.request_stop();
  t.join();
  EXPECT_EQ(parked.status().message(), "HTTP GET http://control:9090/poll cancelled");
}

}  // namespace
}  // namespace aether
