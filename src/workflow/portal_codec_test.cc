#include "workflow/portal_codec.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace aether::workflow {
namespace {

std::string BigEndian32(uint32_t n) {
  return std::string{static_cast<char>((n >> 24) & 0xff), static_cast<char>((n >> 16) & 0xff),
                     static_cast<char>((n >> 8) & 0xff), static_cast<char>(n & 0xff)};
}

// The message of a failed decode ("" when it did not fail).
std::string DecodeError(std::string_view body) {
  auto r = DecodePortalBatch(body);
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  return r.status().message();
}

TEST(PortalCodecTest, RoundTripsABatchInOrder) {
  std::string binary("\0\xff\x01payload\n", 11);
  std::string big(kMaxPortalPayload, 'x');
  std::vector<std::string> in = {"hello", "", binary, big, "last"};
  std::string body = EncodePortalBatch(in);
  EXPECT_EQ(body.size(), PortalBatchSize(in.size(), 5 + 0 + binary.size() + big.size() + 4));
  auto out = DecodePortalBatch(body);
  ASSERT_TRUE(out.ok()) << out.status().message();
  ASSERT_EQ(out->size(), in.size());
  for (size_t i = 0; i < in.size(); ++i) EXPECT_EQ((*out)[i], in[i]) << i;
  // The views point into the body.
  EXPECT_EQ((*out)[0].data(), body.data() + 8);
}

TEST(PortalCodecTest, TheWireFormatIsMagicThenBigEndianLengths) {
  std::vector<std::string_view> in = {"ab", "c"};
  EXPECT_EQ(EncodePortalBatch(in), "AEP1" + BigEndian32(2) + "ab" + BigEndian32(1) + "c");
  std::string long_one(0x010203, 'z');
  EXPECT_EQ(EncodePortalBatch(std::vector<std::string_view>{long_one}).substr(0, 8),
            "AEP1" + std::string("\x00\x01\x02\x03", 4));
}

TEST(PortalCodecTest, ZeroEventsIsAValidBatch) {
  EXPECT_EQ(EncodePortalBatch(std::vector<std::string>{}), "AEP1");
  auto out = DecodePortalBatch("AEP1");
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_TRUE(out->empty());
}

TEST(PortalCodecTest, AMissingOrWrongMagicIsRefused) {
  for (std::string_view body :
       {std::string_view(""), std::string_view("AEP"), std::string_view("AEP2"),
        std::string_view("aep1"), std::string_view("\0\0\0\0", 4)}) {
    EXPECT_NE(DecodeError(body).find("AEP1"), std::string::npos) << body;
  }
}

TEST(PortalCodecTest, EveryTruncationIsRefused) {
  std::string body = EncodePortalBatch(std::vector<std::string>{"first", "second"});
  const size_t first_end = 4 + 4 + 5;
  for (size_t cut = 4; cut < body.size(); ++cut) {
    std::string_view part = std::string_view(body).substr(0, cut);
    if (cut == 4 || cut == first_end) {
      EXPECT_TRUE(DecodePortalBatch(part).ok()) << "cut at an event boundary: " << cut;
      continue;
    }
    std::string error = DecodeError(part);
    EXPECT_NE(error.find("truncated"), std::string::npos) << "cut at " << cut << ": " << error;
  }
  EXPECT_NE(DecodeError("AEP1" + BigEndian32(10) + "short").find("10 bytes announced, 5 left"),
            std::string::npos);
}

TEST(PortalCodecTest, APayloadOverTheLimitIsRefused) {
  std::string body = "AEP1" + BigEndian32(kMaxPortalPayload + 1);
  EXPECT_NE(DecodeError(body).find("the limit is 1048576"), std::string::npos);
  // Even when the bytes would follow: the length alone decides.
  body += std::string(kMaxPortalPayload + 1, 'x');
  EXPECT_NE(DecodeError(body).find("1048577 bytes"), std::string::npos);
  // A huge length does not wrap around.
  EXPECT_FALSE(DecodeError("AEP1" + BigEndian32(0xffffffff) + "x").empty());
}

TEST(PortalCodecTest, AtMost4096Events) {
  std::vector<std::string> events(kMaxPortalEvents, "e");
  std::string body = EncodePortalBatch(events);
  auto out = DecodePortalBatch(body);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(out->size(), kMaxPortalEvents);
  // One more event, or any byte after the last one, is refused.
  EXPECT_NE(DecodeError(body + BigEndian32(0)).find("at most 4096 events"), std::string::npos);
  EXPECT_NE(DecodeError(body + "x").find("at most 4096 events"), std::string::npos);
}

TEST(PortalCodecTest, ErrorsNameTheEvent) {
  std::string body = EncodePortalBatch(std::vector<std::string>{"a", "b", "c"}) + "\x01";
  EXPECT_NE(DecodeError(body).find("event 3 "), std::string::npos) << DecodeError(body);
}

}  // namespace
}  // namespace aether::workflow
