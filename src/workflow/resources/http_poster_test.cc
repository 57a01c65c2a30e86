#include "workflow/resources/http_poster.h"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include "common/base64.h"
#include "workflow/resources/test_context.h"
#include "workflow/resources/test_http_server.h"

namespace aether::workflow::resources {
namespace {

using namespace std::chrono_literals;
using testing::FakeContext;
using testing::RecordingServer;

// The local server (test_http_server.h): POST /in records the bodies,
// /missing is 404, /hold answers when the test releases it.
class PosterServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Start();
    base_ = server_.url();
  }
  void Release() { server_.Release(); }
  bool WaitBodies(size_t n) { return server_.WaitBodies(n); }
  std::vector<std::string> bodies() { return server_.bodies(); }

  // The server is on 127.0.0.1, so the list names that address.
  HttpPosterConfig Config(const std::string& path = "/in") {
    HttpPosterConfig c;
    c.url = base_ + path;
    c.allow = {"127.0.0.1:" + std::to_string(server_.port())};
    c.timeout = 2000ms;
    return c;
  }
  std::unique_ptr<Resource> Make(HttpPosterConfig c, ResourceContext ctx) {
    auto r = NewHttpPoster(std::move(ctx), std::move(c));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(*r) : nullptr;
  }

  RecordingServer server_;
  std::string base_;
  FakeContext fake_;
};

TEST_F(PosterServerTest, CastsArePostedInOrder) {
  auto res = Make(Config(), fake_.Make());
  ASSERT_TRUE(res->Cast("fn", "one").ok());
  ASSERT_TRUE(res->Cast("fn", std::string("t\0o", 3)).ok());
  ASSERT_TRUE(WaitBodies(2));
  EXPECT_EQ(bodies(), (std::vector<std::string>{"one", std::string("t\0o", 3)}));
  res->Stop();
  res->Stop();  // idempotent
  EXPECT_TRUE(fake_.failures().empty());
  EXPECT_TRUE(fake_.casts().empty()) << "the answer is dropped";
}

TEST_F(PosterServerTest, DecodeBase64) {
  HttpPosterConfig c = Config();
  c.decode_base64 = true;
  auto res = Make(c, fake_.Make());
  ASSERT_TRUE(res->Cast("fn", Base64Encode("hello\xff")).ok());
  ASSERT_TRUE(WaitBodies(1));
  EXPECT_EQ(bodies()[0], "hello\xff");
  // Not base64: reported, never posted.
  ASSERT_TRUE(res->Cast("fn", "not base64!").ok());
  ASSERT_TRUE(fake_.WaitFailures(1));
  EXPECT_NE(fake_.failures()[0].find("not valid base64"), std::string::npos) << fake_.failures()[0];
  res->Stop();
  EXPECT_EQ(bodies().size(), 1u);
}

TEST_F(PosterServerTest, Non2xxIsReportedWithoutTheQuery) {
  auto res = Make(Config("/missing?secret=1"), fake_.Make());
  ASSERT_TRUE(res->Cast("fn", "x").ok());
  ASSERT_TRUE(fake_.WaitFailures(1));
  const std::string f = fake_.failures()[0];
  EXPECT_NE(f.find("http-poster: POST"), std::string::npos) << f;
  EXPECT_NE(f.find("answered 404"), std::string::npos) << f;
  EXPECT_EQ(f.find("secret"), std::string::npos) << "the query is not logged: " << f;
}

TEST_F(PosterServerTest, ConnectErrorsAreReportedWithoutTheQuery) {
  // A port nobody listens on (the server's, once it is stopped).
  HttpPosterConfig c = Config("/in?secret=1");
  server_.server().Stop();
  auto res = Make(c, fake_.Make());
  ASSERT_TRUE(res->Cast("fn", "x").ok());
  ASSERT_TRUE(fake_.WaitFailures(1));
  const std::string f = fake_.failures()[0];
  EXPECT_TRUE(f.starts_with("http-poster: ")) << f;
  EXPECT_EQ(f.find("secret"), std::string::npos) << "the query is not logged: " << f;
}

// SECURITY: without an allow list, the engine's default reaches public
// addresses only; the local server is loopback and never sees a request.
TEST_F(PosterServerTest, WithoutAListLoopbackIsRefusedAtConnect) {
  for (const std::string& url :
       {base_ + "/in", "http://localhost:" + std::to_string(server_.port()) + "/in",
        "http://[::ffff:127.0.0.1]:" + std::to_string(server_.port()) + "/in"}) {
    FakeContext fake;
    HttpPosterConfig c = Config();
    c.url = url;
    c.allow.clear();
    c.node_policy = true;
    auto res = Make(c, fake.Make());  // any public host passes creation
    ASSERT_TRUE(res->Cast("fn", "x").ok());
    ASSERT_TRUE(fake.WaitFailures(1)) << url;
    EXPECT_NE(fake.failures()[0].find("(loopback)"), std::string::npos) << fake.failures()[0];
    EXPECT_TRUE(fake.failures()[0].starts_with("http-poster: ")) << fake.failures()[0];
    res->Stop();
  }
  EXPECT_TRUE(bodies().empty()) << "the server must never see the request";
}

TEST_F(PosterServerTest, EgressDefaultNoneRefusesEveryPost) {
  HttpPosterConfig c = Config();
  c.url = "http://example.com/";
  c.allow.clear();
  c.node_policy = true;
  ResourceContext ctx = fake_.Make();
  ctx.limits.egress_public_by_default = false;
  auto res = Make(c, std::move(ctx));
  ASSERT_TRUE(res->Cast("fn", "x").ok());
  ASSERT_TRUE(fake_.WaitFailures(1));
  EXPECT_NE(fake_.failures()[0].find("egress_default"), std::string::npos) << fake_.failures()[0];
}

TEST_F(PosterServerTest, TheAllowListIsCheckedAtCreation) {
  HttpPosterConfig c = Config();
  c.allow = {"example.com"};
  EXPECT_EQ(NewHttpPoster(fake_.Make(), c).status().code(), Code::kPermissionDenied);
  // A name on the list does not reach loopback: refused at connect.
  c.url = "http://localhost:" + std::to_string(server_.port()) + "/in";
  c.allow = {"localhost:" + std::to_string(server_.port())};
  auto res = Make(c, fake_.Make());
  ASSERT_TRUE(res->Cast("fn", "x").ok());
  ASSERT_TRUE(fake_.WaitFailures(1));
  EXPECT_NE(fake_.failures()[0].find("(loopback)"), std::string::npos) << fake_.failures()[0];
  res->Stop();
  // URLs ParseEgressUrl refuses.
  for (const char* url : {"http://2130706433/", "http://0x7f.1/", "ftp://x/", "http://u:p@x/"}) {
    c.url = url;
    c.node_policy = true;
    EXPECT_EQ(NewHttpPoster(fake_.Make(), c).status().code(), Code::kInvalidArgument) << url;
  }
  EXPECT_TRUE(bodies().empty());
}

TEST_F(PosterServerTest, CallsAreRefused) {
  auto res = Make(Config(), fake_.Make());
  auto r = res->Call("fn", "x", 1s);
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "http-poster takes casts; use http-egress to call");
}

TEST_F(PosterServerTest, TheQueueIsBounded) {
  HttpPosterConfig c = Config("/hold");
  c.timeout = 500ms;
  ResourceContext ctx = fake_.Make();
  ctx.limits.http_egress_queue_length = 3;
  auto res = Make(c, std::move(ctx));
  Status last;
  size_t accepted = 0;
  for (size_t i = 0; i < 10; ++i) {
    last = res->Cast("fn", "x");
    if (!last.ok()) break;
    ++accepted;
  }
  EXPECT_EQ(last.code(), Code::kResourceExhausted) << last.ToString();
  // 3 queued, and perhaps 1 the worker took already.
  EXPECT_GE(accepted, 3u);
  EXPECT_LE(accepted, 4u);
  Release();  // the post in flight ends, Stop drops the queued ones
  auto start = std::chrono::steady_clock::now();
  res->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

}  // namespace
}  // namespace aether::workflow::resources
