#include "protocol/ids.h"

#include <gtest/gtest.h>

#include <string>

namespace aether::protocol {
namespace {

// From control/validation_test.cc.
TEST(NodeIdTest, HostNamesPass) {
  EXPECT_TRUE(ValidateNodeId("edge-1.example.com").ok());
  EXPECT_FALSE(ValidateNodeId("").ok());
  EXPECT_FALSE(ValidateNodeId("../etc").ok());
  EXPECT_FALSE(ValidateNodeId(std::string(129, 'a')).ok());
  EXPECT_TRUE(IsNodeId(std::string(128, 'a')));
  EXPECT_TRUE(IsNodeId("Node_1"));
  EXPECT_FALSE(IsNodeId(".x"));
  EXPECT_FALSE(IsNodeId("node 1"));
}

TEST(NodeUrlTest, OnlyHttpWithHost) {
  EXPECT_TRUE(ValidateNodeUrl("http://127.0.0.1:9091").ok());
  EXPECT_TRUE(ValidateNodeUrl("https://edge").ok());
  EXPECT_FALSE(ValidateNodeUrl("ftp://x").ok());
  EXPECT_FALSE(ValidateNodeUrl("http://").ok());
  EXPECT_FALSE(ValidateNodeUrl("http://a b").ok());
  EXPECT_FALSE(IsNodeUrl("http://:80"));
  EXPECT_FALSE(IsNodeUrl("http://h\xc3\xa9"));
  EXPECT_FALSE(IsNodeUrl("http://" + std::string(kMaxNodeUrlLength, 'h')));
}

// From control/validation_test.cc.
TEST(Sha256HexTest, Shape) {
  EXPECT_TRUE(IsSha256Hex(std::string(64, 'a')));
  EXPECT_FALSE(IsSha256Hex(std::string(64, 'A')));
  EXPECT_FALSE(IsSha256Hex(std::string(63, 'a')));
  EXPECT_FALSE(IsSha256Hex("../" + std::string(61, 'a')));
}

TEST(InstanceIdTest, BuildsAndParses) {
  EXPECT_EQ(InstanceId("wf", "parse", 3), "wf/parse/3");
  auto parts = ParseInstanceId("wf/parse/12");
  ASSERT_TRUE(parts.has_value());
  EXPECT_EQ(parts->workflow, "wf");
  EXPECT_EQ(parts->component, "parse");
  EXPECT_EQ(parts->index, 12);
  EXPECT_TRUE(IsInstanceId(InstanceId("a", "b", kMaxInstanceIndex)));
}

TEST(InstanceIdTest, RejectsWhatIsNotExactlyThreeParts) {
  for (const char* bad : {"", "wf", "wf/c", "wf/c/", "wf//0", "/c/0", "wf/c/01", "wf/c/-1",
                          "wf/c/10000", "wf/c/0/1", "WF/c/0", "wf/c d/0", "../c/0", "wf/c/1a"}) {
    EXPECT_FALSE(IsInstanceId(bad)) << bad;
  }
  EXPECT_TRUE(IsInstanceId("wf/c/0"));
}

}  // namespace
}  // namespace aether::protocol
