// libFuzzer target for the batches on a link between domains
// (portal_codec.h), the body a portal in another domain posts to an
// http-ingress in portal mode. Checks, on any bytes:
//   * no crash, UB or unbounded allocation; errors are InvalidArgument with
//     a message;
//   * an accepted batch keeps to the documented limits, its views lie inside
//     the body, and EncodePortalBatch re-encodes the events to exactly the
//     body (the encoding has one spelling, so nothing is read two ways);
// and, reading the input as payloads for EncodePortalBatch, that what a
// sender encodes within the limits decodes to the same payloads.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "workflow/portal_codec.h"

namespace {

using aether::Code;
using namespace aether::workflow;  // NOLINT: the codec's names

bool InsideBody(std::string_view part, std::string_view whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

void CheckPortalDecode(std::string_view body) {
  auto events = DecodePortalBatch(body);
  if (!events.ok()) {
    CHECK(events.status().code() == Code::kInvalidArgument);
    CHECK(!events.status().message().empty());
    return;
  }
  CHECK(events->size() <= kMaxPortalEvents);
  for (std::string_view e : *events) {
    CHECK(e.size() <= kMaxPortalPayload);
    CHECK(InsideBody(e, body));
  }
  CHECK(EncodePortalBatch(*events) == body);
}

// The input as a sender's payloads: each takes a length byte's worth of the
// bytes that follow.
void CheckPortalEncode(std::string_view in) {
  std::vector<std::string> payloads;
  while (!in.empty() && payloads.size() < kMaxPortalEvents) {
    size_t n = std::min<size_t>(static_cast<uint8_t>(in[0]), in.size() - 1);
    payloads.emplace_back(in.substr(1, n));
    in.remove_prefix(1 + n);
  }
  std::string body = EncodePortalBatch(payloads);
  size_t bytes = 0;
  for (const std::string& p : payloads) bytes += p.size();
  CHECK(body.size() == PortalBatchSize(payloads.size(), bytes));
  auto events = DecodePortalBatch(body);
  CHECK(events.ok());
  CHECK(events->size() == payloads.size());
  for (size_t i = 0; i < payloads.size(); ++i) CHECK((*events)[i] == payloads[i]);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  CheckPortalDecode(in);
  // The magic in front, so the decoder's paths past it are reached often.
  std::string with_magic = std::string(kPortalMagic) + std::string(in);
  CheckPortalDecode(with_magic);
  CheckPortalEncode(in);
  return 0;
}
