#include "protocol/manifest.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace aether::protocol {
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
  const ManifestEntry& f = m->functions[0];
  EXPECT_EQ(f.name, "hello");
  EXPECT_EQ(f.version, 3);
  EXPECT_EQ(f.sha256, kSha);
  EXPECT_EQ(f.size, 4200u);
  EXPECT_EQ(f.memory_limit_bytes, 16777216u);
  EXPECT_EQ(f.timeout_ms, 3000);
  EXPECT_EQ(f.env,
            (std::vector<std::pair<std::string, std::string>>{{"GREETING", "hi"}, {"B", "x=y"}}));
  EXPECT_EQ(f.uploaded_at, "2024-05-01T12:00:00Z");
  const ManifestEntry& bare = m->functions[1];
  EXPECT_TRUE(bare.env.empty());
  EXPECT_EQ(bare.memory_limit_bytes, 0u);
  EXPECT_EQ(bare.timeout_ms, 0);
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

TEST(ManifestTest, InformationalFieldsNeverFailIt) {
  auto m = ParseManifest(R"({"functions": [{"name": "a", "sha256": ")" + kSha +
                         R"(", "uploaded_at": 5, "updated_at": null}], "revision": 1})");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->functions[0].uploaded_at, "");
}

TEST(ManifestTest, EncodesWhatItParses) {
  Manifest m;
  m.revision = 9;
  m.functions.push_back(ManifestEntry{"hello",
                                      2,
                                      kSha,
                                      2048,
                                      {{"B", "1"}, {"A", "2"}},
                                      16 << 20,
                                      3000,
                                      "2024-05-01T12:00:00Z",
                                      "2024-05-02T12:00:00Z"});
  m.functions.push_back(ManifestEntry{"bare", 1, kSha, 1, {}, 0, 0, "", ""});
  std::string text = EncodeManifest(m);
  auto back = ParseManifest(text);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->revision, 9);
  EXPECT_EQ(back->functions, m.functions);
  // The words for people, and null for the node's limits.
  boost::json::value v = boost::json::parse(text);
  const boost::json::object& hello = v.at("functions").at(0).as_object();
  EXPECT_EQ(hello.at("memory_limit"), "16MB");
  EXPECT_EQ(hello.at("timeout"), "3s");
  EXPECT_EQ(hello.at("size_kb"), 2);
  EXPECT_TRUE(v.at("functions").at(1).at("timeout").is_null());
}

}  // namespace
}  // namespace aether::protocol
