#include "workflow/portal_codec.h"

#include <cstdint>

namespace aether::workflow {
namespace {

void AppendPortalEvent(std::string& out, std::string_view payload) {
  auto n = static_cast<uint32_t>(payload.size());
  const char len[4] = {static_cast<char>((n >> 24) & 0xff), static_cast<char>((n >> 16) & 0xff),
                       static_cast<char>((n >> 8) & 0xff), static_cast<char>(n & 0xff)};
  out.append(len, 4);
  out.append(payload);
}

template <typename Payloads>
std::string EncodeAll(const Payloads& payloads) {
  size_t bytes = 0;
  for (const auto& p : payloads) bytes += p.size();
  std::string out;
  out.reserve(PortalBatchSize(payloads.size(), bytes));
  out.append(kPortalMagic);
  for (const auto& p : payloads) AppendPortalEvent(out, p);
  return out;
}

}  // namespace

std::string EncodePortalBatch(const std::vector<std::string_view>& payloads) {
  return EncodeAll(payloads);
}

std::string EncodePortalBatch(const std::vector<std::string>& payloads) {
  return EncodeAll(payloads);
}

Result<std::vector<std::string_view>> DecodePortalBatch(std::string_view body) {
  if (!body.starts_with(kPortalMagic)) {
    return InvalidArgument("a portal batch starts with \"AEP1\" (" + std::to_string(body.size()) +
                           " bytes without it)");
  }
  std::vector<std::string_view> events;
  size_t pos = kPortalMagic.size();
  while (pos < body.size()) {
    size_t index = events.size();
    if (index >= kMaxPortalEvents) {
      return InvalidArgument("a portal batch holds at most " + std::to_string(kMaxPortalEvents) +
                             " events; " + std::to_string(body.size() - pos) +
                             " bytes follow the last one");
    }
    if (body.size() - pos < kPortalEventOverhead) {
      return InvalidArgument("event " + std::to_string(index) +
                             " of the portal batch is truncated (in its length)");
    }
    const auto* p = reinterpret_cast<const unsigned char*>(body.data() + pos);
    uint32_t n = static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
                 static_cast<uint32_t>(p[2]) << 8 | static_cast<uint32_t>(p[3]);
    pos += kPortalEventOverhead;
    if (n > kMaxPortalPayload) {
      return InvalidArgument("event " + std::to_string(index) + " of the portal batch is " +
                             std::to_string(n) + " bytes; the limit is " +
                             std::to_string(kMaxPortalPayload));
    }
    if (body.size() - pos < n) {
      return InvalidArgument("event " + std::to_string(index) +
                             " of the portal batch is truncated (" + std::to_string(n) +
                             " bytes announced, " + std::to_string(body.size() - pos) + " left)");
    }
    events.push_back(body.substr(pos, n));
    pos += n;
  }
  return events;
}

}  // namespace aether::workflow
