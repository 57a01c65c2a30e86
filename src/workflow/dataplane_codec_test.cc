#include "workflow/dataplane_codec.h"

#include <gtest/gtest.h>

namespace aether::workflow {
namespace {

std::string U32(uint32_t n) {
  return std::string{static_cast<char>(n & 0xff), static_cast<char>((n >> 8) & 0xff),
                     static_cast<char>((n >> 16) & 0xff), static_cast<char>((n >> 24) & 0xff)};
}

TEST(DataplaneCodecTest, RoundTripsABatch) {
  std::string binary("\0\xff\x01payload\n", 11);
  std::string big(kMaxEventPayload, 'x');
  std::string body;
  AppendFrame(body, "wf/a/0", "http", "hello");
  AppendFrame(body, "wf/b/1", "", binary);
  AppendFrame(body, "wf/c/2", "timer", "");
  AppendFrame(body, "wf/d/0", "src", big);
  EXPECT_EQ(body.size(), FrameSize("wf/a/0", "http", "hello") + FrameSize("wf/b/1", "", binary) +
                             FrameSize("wf/c/2", "timer", "") + FrameSize("wf/d/0", "src", big));
  auto frames = DecodeFrames(body);
  ASSERT_TRUE(frames.ok()) << frames.status().message();
  ASSERT_EQ(frames->size(), 4u);
  EXPECT_EQ((*frames)[0].target, "wf/a/0");
  EXPECT_EQ((*frames)[0].source, "http");
  EXPECT_EQ((*frames)[0].payload, "hello");
  EXPECT_EQ((*frames)[1].source, "");
  EXPECT_EQ((*frames)[1].payload, binary);
  EXPECT_EQ((*frames)[2].payload, "");
  EXPECT_EQ((*frames)[3].payload, big);
}

TEST(DataplaneCodecTest, TheWireFormatIsLittleEndianLengths) {
  std::string body;
  AppendFrame(body, "t", "s", "pp");
  EXPECT_EQ(body, U32(1) + "t" + U32(1) + "s" + U32(2) + "pp");
}

TEST(DataplaneCodecTest, EmptyBodyIsAnEmptyBatch) {
  auto frames = DecodeFrames("");
  ASSERT_TRUE(frames.ok());
  EXPECT_TRUE(frames->empty());
}

TEST(DataplaneCodecTest, EveryTruncationIsRejected) {
  std::string one;
  AppendFrame(one, "wf/a/0", "src", "payload");
  std::string body = one + one;
  // Any cut inside the second frame (or the first) is an error; the cut at
  // the frame boundary is a valid one-frame batch.
  for (size_t cut = 1; cut < body.size(); ++cut) {
    auto frames = DecodeFrames(std::string_view(body).substr(0, cut));
    if (cut == one.size()) {
      ASSERT_TRUE(frames.ok());
      EXPECT_EQ(frames->size(), 1u);
      continue;
    }
    ASSERT_FALSE(frames.ok()) << "cut at " << cut;
    EXPECT_EQ(frames.status().code(), Code::kInvalidArgument);
    EXPECT_NE(frames.status().message().find("truncated"), std::string::npos)
        << frames.status().message();
  }
}

TEST(DataplaneCodecTest, OversizedFieldsAreRejected) {
  // A length beyond the limit is refused before the bytes are looked for.
  auto t =
      DecodeFrames(U32(kMaxFrameName + 1) + std::string(kMaxFrameName + 1, 'a') + U32(0) + U32(0));
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("target is 256 bytes"), std::string::npos)
      << t.status().message();
  auto s = DecodeFrames(U32(1) + "a" + U32(kMaxFrameName + 1));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("source"), std::string::npos);
  auto p = DecodeFrames(U32(1) + "a" + U32(0) + U32(kMaxEventPayload + 1));
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("payload"), std::string::npos);
  // Lengths near 2^32 must not wrap around.
  auto huge = DecodeFrames(U32(1) + "a" + U32(0) + U32(0xffffffffu) + "x");
  ASSERT_FALSE(huge.ok());
  auto huge_target = DecodeFrames(U32(0xfffffffcu) + "abc");
  ASSERT_FALSE(huge_target.ok());
}

TEST(DataplaneCodecTest, EmptyTargetIsRejected) {
  auto f = DecodeFrames(U32(0) + U32(0) + U32(0));
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("empty target"), std::string::npos);
}

TEST(DataplaneCodecTest, BatchOverTheLimitIsResourceExhausted) {
  std::string body(kMaxBatchBytes + 1, '\0');
  auto f = DecodeFrames(body);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), Code::kResourceExhausted);
}

TEST(DataplaneCodecTest, OneFrame) {
  std::string body;
  AppendFrame(body, "wf/a/0", "src", "x");
  auto f = DecodeOneFrame(body);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->target, "wf/a/0");
  EXPECT_EQ(f->payload, "x");
  EXPECT_FALSE(DecodeOneFrame("").ok());
  EXPECT_FALSE(DecodeOneFrame(body + "z").ok());
  EXPECT_FALSE(DecodeOneFrame(body + body).ok());
  EXPECT_FALSE(DecodeOneFrame(body.substr(0, body.size() - 1)).ok());
}

}  // namespace
}  // namespace aether::workflow
