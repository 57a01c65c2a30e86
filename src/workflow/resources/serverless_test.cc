#include "workflow/resources/serverless.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "workflow/resources/test_context.h"
#include "workflow/resources/test_http_server.h"

namespace aether::workflow::resources {
namespace {

using namespace std::chrono_literals;
using testing::FakeContext;
using testing::RecordingServer;

// An OpenFaaS-style function as EDGELESS's serverless example has one:
// POST /double answers twice the number it gets; anything else is 400.
class ServerlessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.server().Route("POST", "/double", [](HttpRequest&& req, const Responder& respond) {
      try {
        respond(HttpResponse{200, "text/plain", std::to_string(std::stoll(req.body) * 2), {}});
      } catch (const std::exception&) {
        respond(HttpResponse{400, "text/plain", "not a number: " + req.body, {}});
      }
    });
    server_.Start();
    fake_.SetOutputs({"out", "err"});
  }

  std::unique_ptr<Resource> Make(const std::string& path, ResourceContext ctx) {
    ServerlessClass cls{"double", server_.url() + path, 2000ms};
    auto r = NewServerless(std::move(ctx), std::move(cls));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(*r) : nullptr;
  }

  RecordingServer server_;
  FakeContext fake_;
};

TEST_F(ServerlessTest, AnswersGoToOutInOrder) {
  auto res = Make("/double", fake_.Make());
  for (int i = 40; i < 45; ++i) ASSERT_TRUE(res->Cast("counter", std::to_string(i)).ok());
  ASSERT_TRUE(fake_.WaitCasts(5));
  auto casts = fake_.casts();
  ASSERT_EQ(casts.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(casts[i].output, "out");
    EXPECT_EQ(casts[i].payload, std::to_string((40 + i) * 2));
  }
  res->Stop();
  res->Stop();  // idempotent
  EXPECT_TRUE(fake_.failures().empty());
}

TEST_F(ServerlessTest, FailuresGoToErrWithoutTheQuery) {
  auto res = Make("/double?code=secret", fake_.Make());
  ASSERT_TRUE(res->Cast("counter", "forty-two").ok());
  ASSERT_TRUE(fake_.WaitCasts(1));
  auto c = fake_.casts()[0];
  EXPECT_EQ(c.output, "err");
  EXPECT_NE(c.payload.find("error when calling serverless function at "), std::string::npos)
      << c.payload;
  EXPECT_NE(c.payload.find("status 400 returned: not a number"), std::string::npos) << c.payload;
  EXPECT_EQ(c.payload.find("secret"), std::string::npos) << c.payload;

  // No server: the connect error goes to "err" too, query hidden.
  server_.server().Stop();
  ASSERT_TRUE(res->Cast("counter", "1").ok());
  ASSERT_TRUE(fake_.WaitCasts(2));
  c = fake_.casts()[1];
  EXPECT_EQ(c.output, "err");
  EXPECT_NE(c.payload.find("cannot connect"), std::string::npos) << c.payload;
  EXPECT_EQ(c.payload.find("secret"), std::string::npos) << c.payload;
  res->Stop();
}

TEST_F(ServerlessTest, UnmappedOutputsDropAndReportErrors) {
  fake_.SetCastStatus(NotFound("output not mapped"));
  auto res = Make("/double", fake_.Make());
  ASSERT_TRUE(res->Cast("counter", "1").ok());  // "out" unmapped: dropped quietly
  ASSERT_TRUE(res->Cast("counter", "x").ok());  // "err" unmapped: reported
  ASSERT_TRUE(fake_.WaitFailures(1));
  EXPECT_NE(fake_.failures()[0].find("status 400"), std::string::npos) << fake_.failures()[0];
  res->Stop();
  EXPECT_EQ(fake_.failures().size(), 1u);
}

TEST_F(ServerlessTest, AFullTargetIsReported) {
  fake_.SetCastStatus(ResourceExhausted("mailbox full"));
  auto res = Make("/double", fake_.Make());
  ASSERT_TRUE(res->Cast("counter", "1").ok());
  ASSERT_TRUE(fake_.WaitFailures(1));
  EXPECT_NE(fake_.failures()[0].find("cannot cast to \"out\": mailbox full"), std::string::npos)
      << fake_.failures()[0];
  res->Stop();
}

TEST_F(ServerlessTest, CallsAnswerTheBody) {
  auto res = Make("/double", fake_.Make());
  auto r = res->Call("fn", "21", 5s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "42");
  r = res->Call("fn", "x", 5s);
  EXPECT_EQ(r.status().code(), Code::kInternal);
  EXPECT_TRUE(fake_.casts().empty()) << "a call's answer goes to the caller only";
  res->Stop();
}

TEST_F(ServerlessTest, TheQueueIsBoundedAndStopIsPrompt) {
  ResourceContext ctx = fake_.Make();
  ctx.limits.http_egress_queue_length = 2;
  auto res = Make("/hold", std::move(ctx));
  Status last;
  size_t accepted = 0;
  for (size_t i = 0; i < 10 && last.ok(); ++i) {
    last = res->Cast("fn", "x");
    if (last.ok()) ++accepted;
  }
  EXPECT_EQ(last.code(), Code::kResourceExhausted) << last.ToString();
  EXPECT_GE(accepted, 2u);
  EXPECT_LE(accepted, 3u);
  auto start = std::chrono::steady_clock::now();
  res->Stop();  // the post in flight is cancelled, not waited for
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1500ms);
  EXPECT_TRUE(fake_.casts().empty()) << "a cancelled post is nobody's error";
}

TEST_F(ServerlessTest, ABadUrlIsRefused) {
  for (const char* url : {"ftp://x/", "http://u:p@x/", "not a url"}) {
    EXPECT_EQ(NewServerless(fake_.Make(), {"double", url, 1s}).status().code(),
              Code::kInvalidArgument)
        << url;
  }
}

}  // namespace
}  // namespace aether::workflow::resources
