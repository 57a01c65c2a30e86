#include "engine/manifest.h"

#include <gtest/gtest.h>

namespace aether::engine {
namespace {

const std::string kSha(64, 'a');

TEST(ManifestTest, ParsesTheControlPlanesManifest) {
  auto m = ParseManifest(R"({"functions": [
      {"name": "hello", "version": 3, "sha256": ")" +
                         kSha + R"(", "size": 4200, "size_kb": 5,
       "uploaded_at": "2024-05-01T12:00:00Z", "env": {"GREETING": "hi", "B": "x=y"},
       "memory_limit": "16MB", "timeout": "3s", "memory_limit_bytes": 16777216, "timeout_ms": 3000},
      {"name": "bare", "version": 1, "sha256": ")" +
                         kSha + R"(", "env": {},
       "memory_limit": null, "timeout": null, "memory_limit_bytes": 0, "timeout_ms": 0}],
     "revision": 17})");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->revision, 17);
  ASSERT_EQ(m->functions.size(), 2u);
  const ManifestFunction& f = m->functions[0];
  EXPECT_EQ(f.name, "hello");
  EXPECT_EQ(f.version, 3);
  EXPECT_EQ(f.sha256, kSha);
  EXPECT_EQ(f.size, 4200u);
  EXPECT_EQ(f.settings.memory_limit, 16777216u);
  EXPECT_EQ(f.settings.timeout, std::chrono::seconds(3));
  EXPECT_EQ(f.settings.env, (std::vector<std::string>{"GREETING=hi", "B=x=y"}));
  EXPECT_EQ(m->functions[1].settings, FunctionSettings{});
}

TEST(ManifestTest, EmptyAndInvalid) {
  auto empty = ParseManifest(R"({"functions": [], "revision": 0})");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->functions.empty());
  for (const std::string& bad : std::vector<std::string>{
           std::string("[]"), std::string("{}"),
           R"({"functions": [{"name": "../x", "sha256": ")" + kSha + "\"}]}",
           std::string(R"({"functions": [{"name": "a", "sha256": "ABC"}]})"),
           R"({"functions": [{"name": "a", "sha256": ")" + kSha + R"(", "env": {"A": 1}}]})",
           R"({"functions": [{"name": "a", "sha256": ")" + kSha + R"(", "timeout_ms": -1}]})",
           std::string(R"({"functions": [1]})")}) {
    EXPECT_FALSE(ParseManifest(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace aether::engine
