// libFuzzer target for the dataplane's binary frames (dataplane_codec.h),
// the body of POST /dataplane/v1/events and /dataplane/v1/call as another
// engine sends it. Checks, on any bytes:
//   * no crash, UB or unbounded allocation; errors are InvalidArgument (or
//     ResourceExhausted for a body over kMaxBatchBytes) with a message;
//   * an accepted batch keeps to the documented limits, its views lie inside
//     the body, and AppendFrame re-encodes the frames to exactly the body
//     (the encoding has one spelling, so nothing is read two ways);
//   * DecodeOneFrame accepts exactly the bodies that DecodeFrames reads as
//     one frame, and gives the same frame;
// and, reading the input as fields for AppendFrame, that what a sender
// encodes within the limits decodes to the same fields.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "workflow/dataplane_codec.h"

namespace {

using aether::Code;
using namespace aether::workflow;  // NOLINT: the codec's names

bool Inside(std::string_view part, std::string_view whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

void CheckDecode(std::string_view body) {
  auto frames = DecodeFrames(body);
  auto one = DecodeOneFrame(body);
  if (!frames.ok()) {
    Code c = frames.status().code();
    CHECK(c == Code::kInvalidArgument ||
          (c == Code::kResourceExhausted && body.size() > kMaxBatchBytes));
    CHECK(!frames.status().message().empty());
    CHECK(!one.ok());
    return;
  }
  std::string again;
  for (const Frame& f : *frames) {
    CHECK(!f.target.empty() && f.target.size() <= kMaxFrameName);
    CHECK(f.source.size() <= kMaxFrameName);
    CHECK(f.payload.size() <= kMaxEventPayload);
    CHECK(Inside(f.target, body) && Inside(f.source, body) && Inside(f.payload, body));
    AppendFrame(again, f.target, f.source, f.payload);
  }
  CHECK(again == body);
  CHECK(one.ok() == (frames->size() == 1));
  if (one.ok()) {
    const Frame& f = frames->front();
    CHECK(one->target == f.target && one->source == f.source && one->payload == f.payload);
  } else {
    CHECK(one.status().code() == Code::kInvalidArgument);
  }
}

// The input as a sender's events: each field takes a length byte's worth
// of the bytes that follow (a target is never empty).
void CheckEncode(std::string_view in) {
  struct Event {
    std::string target, source, payload;
  };
  std::vector<Event> events;
  auto take = [&in](size_t max) {
    if (in.empty()) return std::string();
    size_t n = static_cast<uint8_t>(in[0]) % (max + 1);
    in.remove_prefix(1);
    n = std::min(n, in.size());
    std::string out(in.substr(0, n));
    in.remove_prefix(n);
    return out;
  };
  std::string body;
  while (!in.empty()) {
    Event e;
    e.target = take(kMaxFrameName);
    if (e.target.empty()) e.target = "t";
    e.source = take(kMaxFrameName);
    e.payload = take(255);
    CHECK(FrameSize(e.target, e.source, e.payload) ==
          kFrameOverhead + e.target.size() + e.source.size() + e.payload.size());
    size_t before = body.size();
    AppendFrame(body, e.target, e.source, e.payload);
    CHECK(body.size() - before == FrameSize(e.target, e.source, e.payload));
    events.push_back(std::move(e));
  }
  auto frames = DecodeFrames(body);
  CHECK(frames.ok());
  CHECK(frames->size() == events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    const Frame& f = (*frames)[i];
    CHECK(f.target == events[i].target && f.source == events[i].source &&
          f.payload == events[i].payload);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  CheckDecode(in);
  CheckEncode(in);
  return 0;
}
