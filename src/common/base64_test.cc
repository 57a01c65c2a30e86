#include "common/base64.h"

#include <gtest/gtest.h>

namespace aether {
namespace {

TEST(Base64Test, RoundTripsEveryLength) {
  std::string bytes;
  for (int i = 0; i < 70; ++i) {
    std::string text = Base64Encode(bytes);
    EXPECT_EQ(text.size() % 4, 0u);
    auto back = Base64Decode(text);
    ASSERT_TRUE(back.ok()) << text;
    EXPECT_EQ(*back, bytes);
    bytes.push_back(static_cast<char>(i * 37));  // every byte value class, NUL included
  }
}

TEST(Base64Test, KnownValues) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("/a/x"), "L2EveA==");
  EXPECT_EQ(*Base64Decode("Zm8="), "fo");
}

TEST(Base64Test, RefusesMalformedText) {
  for (const char* bad : {"Zg=", "Z===", "Zm9v Zg==", "Zm=v", "Zm9*", " Zm9", "Zg==Zg=="}) {
    EXPECT_FALSE(Base64Decode(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace aether
