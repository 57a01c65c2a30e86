// The dataplane's binary frame (docs/workflow-protocol.md, "Engine ↔
// engine"): one event is
//   u32 LE target instance id length, bytes
//   u32 LE source component length, bytes
//   u32 LE payload length, bytes
// and a batch (POST /dataplane/v1/events) is frames back to back. Pure
// functions: any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace aether::workflow {

// Limits a receiver enforces (a sender never produces more).
inline constexpr size_t kMaxFrameName = 255;          // target id / source component bytes
inline constexpr size_t kMaxEventPayload = 1u << 20;  // AETHER_ETOOBIG beyond
inline constexpr size_t kMaxBatchBytes = 4u << 20;    // 413 beyond
inline constexpr size_t kFrameOverhead = 12;          // the three lengths

// One decoded frame; the views point into the decoded buffer.
struct Frame {
  std::string_view target;
  std::string_view source;
  std::string_view payload;
};

// Bytes AppendFrame adds.
inline size_t FrameSize(std::string_view target, std::string_view source,
                        std::string_view payload) {
  return kFrameOverhead + target.size() + source.size() + payload.size();
}

// Appends one frame to `out`. The caller keeps to the limits above.
void AppendFrame(std::string& out, std::string_view target, std::string_view source,
                 std::string_view payload);

// Decodes a whole batch; all or nothing. InvalidArgument naming the frame
// and what is wrong: a truncated frame, an empty target, a target or source
// over kMaxFrameName, a payload over kMaxEventPayload. ResourceExhausted
// for a body over kMaxBatchBytes. An empty body is an empty batch.
Result<std::vector<Frame>> DecodeFrames(std::string_view body);

// Exactly one frame (POST /dataplane/v1/call); trailing bytes are an error.
Result<Frame> DecodeOneFrame(std::string_view body);

}  // namespace aether::workflow
