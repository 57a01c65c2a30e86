#include "workflow/dataplane_codec.h"

namespace aether::workflow {
namespace {

void PutU32(std::string& out, size_t v) {
  uint32_t n = static_cast<uint32_t>(v);
  char b[4] = {static_cast<char>(n & 0xff), static_cast<char>((n >> 8) & 0xff),
               static_cast<char>((n >> 16) & 0xff), static_cast<char>((n >> 24) & 0xff)};
  out.append(b, 4);
}

// Reads a length-prefixed field at `*pos`; false when truncated or longer than `max`.
struct Reader {
  std::string_view in;
  size_t pos = 0;

  Status Field(std::string_view* out, size_t max, size_t frame, std::string_view what) {
    if (in.size() - pos < 4) return Truncated(frame, what);
    const auto* p = reinterpret_cast<const unsigned char*>(in.data() + pos);
    uint32_t n = static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
                 static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
    pos += 4;
    if (n > max) {
      return InvalidArgument("frame " + std::to_string(frame) + ": " + std::string(what) + " is " +
                             std::to_string(n) + " bytes; the limit is " + std::to_string(max));
    }
    if (in.size() - pos < n) return Truncated(frame, what);
    *out = in.substr(pos, n);
    pos += n;
    return OkStatus();
  }

  static Status Truncated(size_t frame, std::string_view what) {
    return InvalidArgument("frame " + std::to_string(frame) + " is truncated (in its " +
                           std::string(what) + ")");
  }

  Result<Frame> Next(size_t index) {
    Frame f;
    RETURN_IF_ERROR(Field(&f.target, kMaxFrameName, index, "target"));
    if (f.target.empty()) {
      return InvalidArgument("frame " + std::to_string(index) + " has an empty target");
    }
    RETURN_IF_ERROR(Field(&f.source, kMaxFrameName, index, "source"));
    RETURN_IF_ERROR(Field(&f.payload, kMaxEventPayload, index, "payload"));
    return f;
  }
};

}  // namespace

void AppendFrame(std::string& out, std::string_view target, std::string_view source,
                 std::string_view payload) {
  out.reserve(out.size() + FrameSize(target, source, payload));
  PutU32(out, target.size());
  out.append(target);
  PutU32(out, source.size());
  out.append(source);
  PutU32(out, payload.size());
  out.append(payload);
}

Result<std::vector<Frame>> DecodeFrames(std::string_view body) {
  if (body.size() > kMaxBatchBytes) {
    return ResourceExhausted("the batch is " + std::to_string(body.size()) +
                             " bytes; the limit is " + std::to_string(kMaxBatchBytes));
  }
  std::vector<Frame> frames;
  Reader r{body};
  while (r.pos < body.size()) {
    ASSIGN_OR_RETURN(Frame f, r.Next(frames.size()));
    frames.push_back(f);
  }
  return frames;
}

Result<Frame> DecodeOneFrame(std::string_view body) {
  if (body.empty()) return InvalidArgument("the body holds no frame");
  Reader r{body};
  ASSIGN_OR_RETURN(Frame f, r.Next(0));
  if (r.pos != body.size()) {
    return InvalidArgument(std::to_string(body.size() - r.pos) + " bytes after the frame");
  }
  return f;
}

}  // namespace aether::workflow
