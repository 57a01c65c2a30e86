// CreateResource: the dispatch on class_type and the parsed configurations
// (the parsers are common/resource_config.h's; their own tests are there).
#include <gtest/gtest.h>

#include <chrono>

#include "workflow/resource.h"
#include "workflow/resources/test_context.h"

namespace aether::workflow {
namespace {

using namespace std::chrono_literals;
using resources::testing::FakeContext;
using resources::testing::TempDir;

TEST(CreateResourceTest, HttpIngressIsTheHosts) {
  FakeContext fake;
  auto r = CreateResource("http-ingress", fake.Make());
  EXPECT_EQ(r.status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(r.status().message(), "http-ingress is served by the engine's /wf route");
}

TEST(CreateResourceTest, UnknownClassListsTheKnownOnes) {
  FakeContext fake;
  auto r = CreateResource("ftp-egress", fake.Make());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  for (const std::string& c : KnownResourceClasses()) {
    EXPECT_NE(r.status().message().find(c), std::string::npos) << r.status().message();
  }
}

TEST(CreateResourceTest, EveryClass) {
  TempDir dir;
  FakeContext fake;
  fake.data_dir = dir.path();
  auto kv = CreateResource("kv", fake.Make({{"max_keys", "10"}}));
  ASSERT_TRUE(kv.ok()) << kv.status().ToString();
  EXPECT_EQ(*(*kv)->Call("fn", "SET a 1", 1s), "OK");

  auto log = CreateResource("file-log", fake.Make({{"filename", "x.log"}}));
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  EXPECT_EQ(*(*log)->Call("fn", "line", 1s), "ok");
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/workflows/wf-test/x.log"));
  auto default_name = CreateResource("file-log", fake.Make());
  ASSERT_TRUE(default_name.ok()) << default_name.status().ToString();
  (*default_name)->Stop();
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/workflows/wf-test/res.log"));

  auto egress = CreateResource("http-egress", fake.Make({{"allow", "example.com"}}));
  ASSERT_TRUE(egress.ok()) << egress.status().ToString();
  EXPECT_EQ((*egress)->Call("fn", "http://other.example/", 1s).status().code(),
            Code::kPermissionDenied);

  // Creating a redis resource never connects: a Redis that starts later works.
  auto redis = CreateResource("redis", fake.Make({{"url", "redis://127.0.0.1:1"}, {"key", "k"}}));
  ASSERT_TRUE(redis.ok()) << redis.status().ToString();

  auto timer = CreateResource("timer", fake.Make({{"period_ms", "10"}}));
  ASSERT_TRUE(timer.ok()) << timer.status().ToString();
  (*timer)->Stop();

  auto poster = CreateResource("http-poster", fake.Make({{"url", "http://example.com/"}}));
  ASSERT_TRUE(poster.ok()) << poster.status().ToString();
  EXPECT_EQ((*poster)->Call("fn", "x", 1s).status().code(), Code::kInvalidArgument);
  (*poster)->Stop();
  // The allow list is checked against the url when the resource is created.
  auto refused = CreateResource(
      "http-poster", fake.Make({{"url", "http://other.example/"}, {"allow", "example.com"}}));
  EXPECT_EQ(refused.status().code(), Code::kPermissionDenied) << refused.status().ToString();

  auto pusher = CreateResource("file-pusher", fake.Make({{"period-ms", "10"}}));
  ASSERT_TRUE(pusher.ok()) << pusher.status().ToString();
  (*pusher)->Stop();
}

TEST(CreateResourceTest, BadConfigurationsAreInvalidArgument) {
  FakeContext fake;
  for (auto [cls, config] : std::vector<std::pair<std::string, ResourceConfigMap>>{
           {"kv", {{"max_keys", "lots"}}},
           {"kv", {{"nope", "1"}}},
           {"http-egress", {{"allow", ""}}},
           {"redis", {}},
           {"timer", {}},
           {"http-poster", {}},
           {"http-poster", {{"url", "ftp://x/"}}},
           {"file-pusher", {{"period-ms", "0"}}},
           {"file-log", {{"filename", "../x"}}}}) {
    auto r = CreateResource(cls, fake.Make(config));
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << cls;
    EXPECT_TRUE(r.status().message().starts_with(cls + " configurations: "))
        << r.status().message();
  }
}

}  // namespace
}  // namespace aether::workflow
