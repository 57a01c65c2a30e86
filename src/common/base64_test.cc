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

TEST(Base64Test, LineBreaksOnlyWhenAsked) {
  EXPECT_FALSE(Base64Decode("Zm9v\nZg==").ok());
  EXPECT_EQ(*Base64Decode("Zm9v\r\nZg==\n", {.skip_line_breaks = true}), "foof");
}

TEST(Base64Test, StopsAtTheCapBeforeDecodingEverything) {
  EXPECT_EQ(Base64Decode("Zm9vZm9v", {.max_bytes = 5}).status().code(), Code::kResourceExhausted);
  EXPECT_EQ(*Base64Decode("Zm9vZm9v", {.max_bytes = 6}), "foofoo");
  // A bad character after the cap is not reached: the cap answers first.
  EXPECT_EQ(Base64Decode("Zm9vZm9v!!!!", {.max_bytes = 3}).status().code(),
            Code::kResourceExhausted);
}

TEST(Base64Test, NamesTheOffsetOfABadCharacter) {
  auto r = Base64Decode("Zm9v*g==");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("offset 4"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace aether
