#include "workflow/resources/http_egress.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <vector>

#include "common/http_server.h"
#include "workflow/edgeless_http.h"
#include "workflow/resources/test_context.h"

namespace aether::workflow::resources {
namespace {

using namespace std::chrono_literals;
using testing::FakeContext;

TEST(EgressRequestTest, BareUrlIsAGet) {
  auto r = ParseEgressRequest("  http://example.com/x?y=1\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->method, "GET");
  EXPECT_EQ(r->url, "http://example.com/x?y=1");
}

TEST(EgressRequestTest, JsonRequest) {
  auto r = ParseEgressRequest(
      R"({"url":"https://a.b/c","headers":{"X-K":"v"},"body":"hi","method":"put"})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->method, "PUT");
  EXPECT_EQ(r->body, "hi");
  ASSERT_EQ(r->headers.size(), 1u);
  EXPECT_EQ(r->headers[0].first, "X-K");
  // A body without a method is a POST.
  auto post = ParseEgressRequest(R"({"url":"http://a/","body":"x"})");
  ASSERT_TRUE(post.ok());
  EXPECT_EQ(post->method, "POST");
}

TEST(EgressRequestTest, BadPayloads) {
  for (const char* p :
       {"", "hello", "ftp://x/", R"({"url": 1})", R"({"body":"x"})", "{nope",
        R"({"url":"http://a/","extra":1})", R"({"url":"http://a/","method":"G T"})",
        R"({"url":"http://a/","headers":{"Host":"evil"}})",
        R"({"url":"http://a/","headers":{"X":"a\r\nB: c"}})",
        R"({"url":"http://a/","headers":{"X":1}})", R"({"url":"http://a/","headers":[]})"}) {
    auto r = ParseEgressRequest(p);
    EXPECT_FALSE(r.ok()) << p;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << p;
    }
  }
}

TEST(EgressUrlTest, AllowList) {
  std::vector<std::string> allow = {"api.example.com", "127.0.0.1:8080", "[::1]:9000"};
  EXPECT_TRUE(CheckEgressUrl("http://api.example.com/x", allow).ok());
  EXPECT_TRUE(CheckEgressUrl("https://API.example.com/x", allow).ok());
  EXPECT_TRUE(CheckEgressUrl("https://api.example.com:443/", allow).ok());
  EXPECT_TRUE(CheckEgressUrl("http://127.0.0.1:8080/", allow).ok());
  EXPECT_TRUE(CheckEgressUrl("https://127.0.0.1:8080/", allow).ok());
  EXPECT_TRUE(CheckEgressUrl("http://[::1]:9000/", allow).ok());

  // A host alone allows the scheme's default port only.
  EXPECT_EQ(CheckEgressUrl("http://api.example.com:8443/", allow).code(), Code::kPermissionDenied);
  EXPECT_EQ(CheckEgressUrl("http://127.0.0.1/", allow).code(), Code::kPermissionDenied);
  EXPECT_EQ(CheckEgressUrl("http://localhost:8080/", allow).code(), Code::kPermissionDenied);
  EXPECT_EQ(CheckEgressUrl("http://api.example.com.evil.io/", allow).code(),
            Code::kPermissionDenied);
  EXPECT_EQ(CheckEgressUrl("http://[::1]:9001/", allow).code(), Code::kPermissionDenied);

  EXPECT_EQ(CheckEgressUrl("http://user:pw@api.example.com/", allow).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(CheckEgressUrl("file:///etc/passwd", allow).code(), Code::kInvalidArgument);
  EXPECT_EQ(CheckEgressUrl("http://api.example.com:99999/", allow).code(), Code::kInvalidArgument);
  EXPECT_FALSE(CheckEgressUrl("http://x/", {}).ok());
}

// Resolvers read these hosts as 127.0.0.1: refused even when the list
// names the same spelling (only the standard spelling is an address).
TEST(EgressUrlTest, UnusualIpv4SpellingsAreRefused) {
  for (const char* host : {"2130706433", "0x7f.1", "017700000001", "127.1", "0x7f000001",
                           "0177.0.0.1", "127.0.0.1.", "127.000.000.001", "0x7F.0.0.1"}) {
    std::vector<std::string> allow = {std::string(host) + ":8080"};
    Status st = CheckEgressUrl("http://" + std::string(host) + ":8080/", allow);
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << host << ": " << st.ToString();
    if (st.code() == Code::kInvalidArgument) {
      EXPECT_NE(st.message().find("127.0.0.1"), std::string::npos) << st.message();
    }
  }
  // Numbers that are no address at all.
  for (const char* host : {"1.2.3.256", "4294967296", "1.2.3.4.5", "0x1.0x100000000"}) {
    EXPECT_EQ(CheckEgressUrl("http://" + std::string(host) + "/", {host}).code(),
              Code::kInvalidArgument)
        << host;
  }
}

TEST(EgressUrlTest, AddressesAndRangesOnTheList) {
  std::vector<std::string> allow = {"127.0.0.1:8080", "10.0.0.0/8", "[fd00::/8]:9000"};
  // An IPv4-mapped IPv6 URL is the IPv4 address it carries.
  EXPECT_TRUE(CheckEgressUrl("http://[::ffff:127.0.0.1]:8080/", allow).ok());
  EXPECT_TRUE(CheckEgressUrl("http://[::FFFF:7f00:1]:8080/", allow).ok());
  EXPECT_EQ(CheckEgressUrl("http://[::ffff:127.0.0.2]:8080/", allow).code(),
            Code::kPermissionDenied);
  EXPECT_TRUE(CheckEgressUrl("http://10.1.2.3/", allow).ok());
  EXPECT_EQ(CheckEgressUrl("http://10.1.2.3:8080/", allow).code(), Code::kPermissionDenied);
  EXPECT_EQ(CheckEgressUrl("http://11.0.0.1/", allow).code(), Code::kPermissionDenied);
  EXPECT_TRUE(CheckEgressUrl("http://[fd12::1]:9000/", allow).ok());
  EXPECT_EQ(CheckEgressUrl("http://[fe80::1]:9000/", allow).code(), Code::kPermissionDenied);
  // A range is for addresses: a name still needs its own entry.
  EXPECT_EQ(CheckEgressUrl("http://internal.corp/", allow).code(), Code::kPermissionDenied);
}

// A local server: /hello, /echo (method, a header and the body), /big?n=,
// /missing (404), /hold (answers when the test releases it).
class EgressServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Route("GET", "/hello", [this](HttpRequest&&, Responder respond) {
      ++hello_hits_;
      HttpResponse r;
      r.content_type = "text/plain";
      r.body = "hello";
      respond(std::move(r));
    });
    for (const char* m : {"POST", "PUT"}) {
      server_.Route(m, "/echo", [](HttpRequest&& req, Responder respond) {
        HttpResponse r;
        r.body = req.method + " " + std::string(req.Header("X-Test")) + " " + req.body;
        respond(std::move(r));
      });
    }
    server_.Route("GET", "/big", [](HttpRequest&& req, Responder respond) {
      HttpResponse r;
      r.body.assign(std::stoul(req.query.at("n")), 'b');
      respond(std::move(r));
    });
    server_.Route("GET", "/hold", [this](HttpRequest&&, Responder respond) {
      std::lock_guard lock(mu_);
      held_.push_back(std::move(respond));
    });
    ASSERT_TRUE(server_.Start().ok());
    base_ = server_.url();
  }
  void TearDown() override { Release(); }

  void Release() {
    std::vector<Responder> held;
    {
      std::lock_guard lock(mu_);
      held.swap(held_);
    }
    for (auto& r : held) r(HttpResponse{200, "text/plain", "late", {}});
  }

  // The server is on 127.0.0.1, so the list names that address.
  HttpEgressConfig Config() { return Config({"127.0.0.1:" + port()}); }
  HttpEgressConfig Config(std::vector<std::string> allow) {
    HttpEgressConfig c;
    c.allow = std::move(allow);
    c.timeout = 2000ms;
    return c;
  }
  std::string port() const { return std::to_string(server_.port()); }

  HttpServer server_{HttpServerOptions{}};
  std::string base_;
  std::mutex mu_;
  std::vector<Responder> held_;
  std::atomic<int> hello_hits_{0};
  FakeContext fake_;
};

TEST_F(EgressServerTest, CallReturnsTheBody) {
  auto res = NewHttpEgress(fake_.Make(), Config());
  auto r = res->Call("fn", base_ + "/hello", 5s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "hello");

  auto echo = res->Call("fn",
                        R"({"method":"PUT","url":")" + base_ +
                            R"(/echo","headers":{"X-Test":"t1"},"body":"b\u0000y"})",
                        5s);
  ASSERT_TRUE(echo.ok()) << echo.status().ToString();
  EXPECT_EQ(*echo, std::string("PUT t1 b\0y", 10));
  res->Stop();
  res->Stop();  // idempotent
}

TEST_F(EgressServerTest, Non2xxIsAnErrorWithTheStatus) {
  auto res = NewHttpEgress(fake_.Make(), Config());
  auto r = res->Call("fn", base_ + "/missing?secret=1", 5s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInternal);
  EXPECT_NE(r.status().message().find("answered 404"), std::string::npos) << r.status().message();
  EXPECT_EQ(r.status().message().find("secret"), std::string::npos) << "the query is not logged";
}

TEST_F(EgressServerTest, DisallowedHostIsPermissionDenied) {
  auto res = NewHttpEgress(fake_.Make(), Config());
  auto r = res->Call("fn", "http://localhost:" + std::to_string(server_.port()) + "/hello", 5s);
  EXPECT_EQ(r.status().code(), Code::kPermissionDenied) << r.status().ToString();
  EXPECT_EQ(res->Cast("fn", "http://10.0.0.1/").code(), Code::kPermissionDenied);
  EXPECT_EQ(res->Call("fn", "{bad json", 5s).status().code(), Code::kInvalidArgument);
}

// "localhost" on the list does not reach 127.0.0.1: a name reaches public
// addresses only, whatever it resolves to (DNS is not the list's author).
TEST_F(EgressServerTest, NameResolvingToLoopbackIsRefused) {
  auto res = NewHttpEgress(fake_.Make(), Config({"localhost:" + port()}));
  auto r = res->Call("fn", "http://localhost:" + port() + "/hello", 5s);
  EXPECT_EQ(r.status().code(), Code::kPermissionDenied) << r.status().ToString();
  EXPECT_NE(r.status().message().find("(loopback)"), std::string::npos) << r.status().message();
  // A cast is refused at connect time too; the failure is reported.
  ASSERT_TRUE(res->Cast("fn", "http://localhost:" + port() + "/hello").ok());
  ASSERT_TRUE(fake_.WaitFailures(1));
  EXPECT_NE(fake_.failures()[0].find("localhost resolves to"), std::string::npos)
      << fake_.failures()[0];
  res->Stop();
  EXPECT_EQ(hello_hits_, 0) << "the server must never see the request";
}

// Without an allow list (as EDGELESS's files have it) the engine's
// [workflow] egress_default decides: public addresses only, or nothing.
TEST_F(EgressServerTest, WithoutAListOnlyPublicAddressesAreReached) {
  HttpEgressConfig c = Config({});
  c.node_policy = true;
  auto res = NewHttpEgress(fake_.Make(), c);
  for (const std::string& url :
       {"http://127.0.0.1:" + port() + "/hello", "http://localhost:" + port() + "/hello",
        "http://[::ffff:127.0.0.1]:" + port() + "/hello"}) {
    auto r = res->Call("fn", url, 5s);
    EXPECT_EQ(r.status().code(), Code::kPermissionDenied) << url << ": " << r.status().ToString();
    EXPECT_NE(r.status().message().find("(loopback)"), std::string::npos) << r.status().message();
  }
  ResourceContext none = fake_.Make();
  none.limits.egress_public_by_default = false;
  auto closed = NewHttpEgress(std::move(none), c);
  auto r = closed->Call("fn", "http://example.com/", 5s);
  EXPECT_EQ(r.status().code(), Code::kPermissionDenied);
  EXPECT_NE(r.status().message().find("egress_default"), std::string::npos) << r.status().message();
  EXPECT_EQ(hello_hits_, 0) << "the server must never see the request";
}

TEST_F(EgressServerTest, EdgelessFormatSpeaksEdgelessHttpJson) {
  HttpEgressConfig c = Config();
  c.edgeless = true;
  auto res = NewHttpEgress(fake_.Make(), c);
  std::string host = "127.0.0.1:" + port();
  auto r = res->Call("fn",
                     R"({"method":"Put","protocol":"HTTP","host":")" + host +
                         R"(","path":"/echo","body":[104,105],"headers":{"X-Test":"t1"}})",
                     5s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  Result<EdgelessResponse> answer = DecodeEdgelessResponse(*r);
  ASSERT_TRUE(answer.ok()) << answer.status().ToString() << ": " << *r;
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->body, "PUT t1 hi");
  // Every status is an answer, not an error: the function decides.
  r = res->Call("fn",
                R"({"method":"Get","protocol":"HTTP","host":")" + host +
                    R"(","path":"/missing","body":null,"headers":{}})",
                5s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(DecodeEdgelessResponse(*r)->status, 404);
  // The allow list and the request checks hold as in the raw format.
  EXPECT_EQ(res->Call("fn",
                      R"({"method":"Get","protocol":"HTTP","host":"example.com","path":"/",)"
                      R"("body":null,"headers":{}})",
                      5s)
                .status()
                .code(),
            Code::kPermissionDenied);
  EXPECT_EQ(res->Call("fn", base_ + "/hello", 5s).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(res->Call("fn",
                      R"({"method":"Get","protocol":"HTTP","host":")" + host +
                          R"(","path":"/","body":null,"headers":{"Host":"x"}})",
                      5s)
                .status()
                .code(),
            Code::kInvalidArgument);
}

TEST_F(EgressServerTest, LoopbackNamedExplicitlyIsReached) {
  for (const std::string& loopback : {"127.0.0.1:" + port(), "127.0.0.0/8:" + port()}) {
    auto res = NewHttpEgress(fake_.Make(), Config({"localhost:" + port(), loopback}));
    auto r = res->Call("fn", "http://localhost:" + port() + "/hello", 5s);
    ASSERT_TRUE(r.ok()) << loopback << ": " << r.status().ToString();
    EXPECT_EQ(*r, "hello");
  }
  // The port is part of the entry: 127.0.0.1 on another port does not count.
  auto res = NewHttpEgress(fake_.Make(), Config({"localhost:" + port(), "127.0.0.1:1"}));
  EXPECT_EQ(res->Call("fn", "http://localhost:" + port() + "/hello", 5s).status().code(),
            Code::kPermissionDenied);
  // The IPv4-mapped spelling of a named address is that address.
  res = NewHttpEgress(fake_.Make(), Config());
  auto mapped = res->Call("fn", "http://[::ffff:127.0.0.1]:" + port() + "/hello", 5s);
  ASSERT_TRUE(mapped.ok()) << mapped.status().ToString();
  EXPECT_EQ(hello_hits_, 3);
}

TEST_F(EgressServerTest, UnusualSpellingsOfLoopbackNeverConnect) {
  for (const char* host : {"2130706433", "0x7f.1", "017700000001", "127.1", "0x7f000001"}) {
    auto res = NewHttpEgress(fake_.Make(), Config({std::string(host) + ":" + port()}));
    auto r = res->Call("fn", "http://" + std::string(host) + ":" + port() + "/hello", 5s);
    EXPECT_FALSE(r.ok()) << host;
  }
  EXPECT_EQ(hello_hits_, 0);
}

TEST_F(EgressServerTest, OversizedResponse) {
  HttpEgressConfig c = Config();
  c.max_response = 1000;
  auto res = NewHttpEgress(fake_.Make(), c);
  EXPECT_TRUE(res->Call("fn", base_ + "/big?n=1000", 5s).ok());
  auto r = res->Call("fn", base_ + "/big?n=1001", 5s);
  EXPECT_EQ(r.status().code(), Code::kResourceExhausted) << r.status().ToString();
}

// /hold never answers: which timeout ended the call shows in how long it
// took, 200 ms against 60 s, so the bounds can be generous.
TEST_F(EgressServerTest, Timeout) {
  HttpEgressConfig c = Config();
  c.timeout = 200ms;
  auto res = NewHttpEgress(fake_.Make(), c);
  auto start = std::chrono::steady_clock::now();
  auto r = res->Call("fn", base_ + "/hold", 60s);
  EXPECT_EQ(r.status().code(), Code::kDeadlineExceeded) << r.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  // The call's own timeout, when shorter, wins.
  c.timeout = 60s;
  auto res2 = NewHttpEgress(fake_.Make(), c);
  start = std::chrono::steady_clock::now();
  EXPECT_EQ(res2->Call("fn", base_ + "/hold", 200ms).status().code(), Code::kDeadlineExceeded);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
}

TEST_F(EgressServerTest, CastSendsTheResponseWhenMapped) {
  fake_.SetOutputs({"response"});
  auto res = NewHttpEgress(fake_.Make(), Config());
  ASSERT_TRUE(res->Cast("fn", base_ + "/hello").ok());
  ASSERT_TRUE(fake_.WaitCasts(1));
  EXPECT_EQ(fake_.casts()[0].output, "response");
  EXPECT_EQ(fake_.casts()[0].payload, "hello");

  // A failure goes to report_failure.
  ASSERT_TRUE(res->Cast("fn", base_ + "/missing").ok());
  ASSERT_TRUE(fake_.WaitFailures(1));
  EXPECT_NE(fake_.failures()[0].find("404"), std::string::npos) << fake_.failures()[0];
  res->Stop();
  EXPECT_EQ(fake_.casts().size(), 1u);
}

TEST_F(EgressServerTest, CastWithoutResponseOutputSendsNothing) {
  auto res = NewHttpEgress(fake_.Make(), Config());
  ASSERT_TRUE(res->Cast("fn", R"({"url":")" + base_ + R"(/echo","body":"x"})").ok());
  ASSERT_TRUE(res->Cast("fn", base_ + "/missing").ok());
  ASSERT_TRUE(fake_.WaitFailures(1));  // in order: the first one is done too
  EXPECT_TRUE(fake_.casts().empty());
}

TEST_F(EgressServerTest, CastsDoNotBlockAndTheQueueIsBounded) {
  const size_t kEgressQueueTasks = ResourceLimits{}.http_egress_queue_length;
  HttpEgressConfig c = Config();
  c.timeout = 500ms;
  auto res = NewHttpEgress(fake_.Make(), c);
  auto start = std::chrono::steady_clock::now();
  Status last;
  size_t accepted = 0;
  for (size_t i = 0; i < kEgressQueueTasks + 10; ++i) {
    last = res->Cast("fn", base_ + "/hold");
    if (!last.ok()) break;
    ++accepted;
  }
  // Casts that waited for the server (which holds every request until its
  // 500 ms timeout) would take 256 x 500 ms; not waiting takes milliseconds.
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s) << "casts must not wait for the server";
  EXPECT_EQ(last.code(), Code::kResourceExhausted) << last.ToString();
  EXPECT_GE(accepted, kEgressQueueTasks);
  EXPECT_LE(accepted, kEgressQueueTasks + 1);
  Release();  // the request in flight ends, Stop drops the queued ones
  start = std::chrono::steady_clock::now();
  res->Stop();
  // Sending the queued ones instead would take up to 256 x 500 ms.
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
}

// [workflow] http_egress_queue_length reaches the queue through
// ResourceContext::limits.
TEST_F(EgressServerTest, TheQueueHoldsTheConfiguredLength) {
  HttpEgressConfig c = Config();
  c.timeout = 500ms;
  ResourceContext ctx = fake_.Make();
  ctx.limits.http_egress_queue_length = 3;
  auto res = NewHttpEgress(std::move(ctx), c);
  Status last;
  size_t accepted = 0;
  for (size_t i = 0; i < 10; ++i) {
    last = res->Cast("fn", base_ + "/hold");
    if (!last.ok()) break;
    ++accepted;
  }
  EXPECT_EQ(last.code(), Code::kResourceExhausted) << last.ToString();
  // 3 queued, and perhaps 1 the worker took already.
  EXPECT_GE(accepted, 3u);
  EXPECT_LE(accepted, 4u);
  Release();  // the request in flight ends, Stop drops the queued ones
  res->Stop();
}

}  // namespace
}  // namespace aether::workflow::resources
