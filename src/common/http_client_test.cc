#include "common/http_client.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>
#include <vector>

namespace aether {
namespace {

using namespace std::chrono_literals;

// A self-signed certificate for 127.0.0.1 and localhost, made by the
// openssl CLI in a fresh temporary directory.
class TempCert {
 public:
  TempCert() {
    char tmpl[] = "/tmp/aether-tls-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    std::string cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
                      "-nodes -days 1 -subj /CN=localhost "
                      "-addext subjectAltName=IP:127.0.0.1,DNS:localhost "
                      "-keyout " + key() + " -out " + cert() + " >/dev/null 2>&1";
    ok_ = std::system(cmd.c_str()) == 0;
  }
  ~TempCert() { std::filesystem::remove_all(dir_); }
  bool ok() const { return ok_; }
  std::string cert() const { return dir_ + "/cert.pem"; }
  std::string key() const { return dir_ + "/key.pem"; }

 private:
  std::string dir_;
  bool ok_ = false;
};

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
  HttpServerOptions o;
  o.tls_cert = cert.cert();
  o.tls_key = cert.key();
  HttpServer server(o);
  AddRoutes(server);
  ASSERT_TRUE(server.Start().ok());
  ASSERT_TRUE(server.url().starts_with("https://127.0.0.1:"));

  HttpFetchOptions trust;
  trust.ca_file = cert.cert();
  auto r = HttpFetch("POST", server.url() + "/echo", "over tls", {}, 3000ms, trust);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "over tls");

  auto localhost =
      HttpFetch("POST", "https://localhost:" + std::to_string(server.port()) + "/echo", "name",
                {}, 3000ms, trust);
  ASSERT_TRUE(localhost.ok()) << localhost.status().ToString();
  EXPECT_EQ(localhost->body, "name");

  // The system store does not know a self-signed certificate.
  auto untrusted = HttpFetch("POST", server.url() + "/echo", "x", {}, 3000ms);
  ASSERT_FALSE(untrusted.ok());
  EXPECT_EQ(untrusted.status().code(), Code::kUnavailable);
  EXPECT_NE(untrusted.status().message().find("TLS handshake"), std::string::npos)
      << untrusted.status().message();

  HttpFetchOptions insecure;
  insecure.insecure_skip_verify = true;
  auto skipped = HttpFetch("POST", server.url() + "/echo", "y", {}, 3000ms, insecure);
  ASSERT_TRUE(skipped.ok()) << skipped.status().ToString();
  EXPECT_EQ(skipped->body, "y");

  // Plain HTTP to the TLS port is not answered as HTTP.
  auto plain = HttpFetch("GET", "http://127.0.0.1:" + std::to_string(server.port()) + "/echo",
                         {}, {}, 2000ms);
  EXPECT_FALSE(plain.ok() && plain->status == 200);
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
}

TEST(HttpClientTest, BadUrls) {
  EXPECT_EQ(HttpFetch("GET", "not a url").status().code(), Code::kInvalidArgument);
  auto ftp = HttpFetch("GET", "ftp://127.0.0.1/x");
  EXPECT_EQ(ftp.status().code(), Code::kInvalidArgument);
  EXPECT_NE(ftp.status().message().find("unsupported URL scheme \"ftp\""), std::string::npos);
  // Boost.URL would send these to 1.2.3.4 (boostorg/url#770).
  for (const char* url : {"http://1.2.3.4.example.com/", "http://1.2.3.4.5/", "http://127.0.0.1.:80/",
                          "http://127.0.0.1%00.example.com/"}) {
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
  HttpFetchOptions refuse;
  refuse.check_address = [&seen](const IpAddress& a) {
    seen.push_back(a.ToString());
    return PermissionDenied("no " + a.ToString());
  };
  auto r = HttpFetch("POST", url, "x", {}, 2000ms, refuse);
  EXPECT_EQ(r.status().code(), Code::kPermissionDenied) << r.status().ToString();
  EXPECT_EQ(r.status().message(), "no " + seen.at(0));
  EXPECT_NE(std::find(seen.begin(), seen.end(), "127.0.0.1"), seen.end());

  // Accepting only 127.0.0.1 (where the server listens) connects there.
  HttpFetchOptions v4;
  v4.check_address = [](const IpAddress& a) {
    return a == *ParseIpAddress("127.0.0.1") ? OkStatus() : PermissionDenied("not v4");
  };
  auto ok = HttpFetch("POST", url, "through", {}, 2000ms, v4);
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

  HttpFetchOptions small;
  small.max_response_bytes = 1000;
  auto ok = HttpFetch("GET", server.url() + "/big?n=1000", {}, {}, 2000ms, small);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->body.size(), 1000u);
  auto big = HttpFetch("GET", server.url() + "/big?n=1001", {}, {}, 2000ms, small);
  EXPECT_EQ(big.status().code(), Code::kResourceExhausted);
  server.Stop();
}

}  // namespace
}  // namespace aether
