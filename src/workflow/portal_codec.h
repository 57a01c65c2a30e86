// The body of a batch of casts on a link between domains
// (docs/workflow-protocol.md, "Portals (links between domains)"): a portal
// resource (resources/portal.h) encodes it, the http-ingress in portal mode
// of the other domain (ingress.cc) decodes it:
//   "AEP1"                       4 bytes of magic
//   then per event:  u32 BE payload length, the payload bytes
// Zero events is a valid (empty) batch; and the names of the link's
// headers. Pure functions: any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace aether::workflow {

// The request headers of the link (both ends use these names).
inline constexpr std::string_view kPortalHeader = "X-Aether-Portal";  // "cast" or "call"
inline constexpr std::string_view kPortalTokenHeader = "X-Aether-Portal-Token";
inline constexpr std::string_view kPortalTimeoutHeader = "X-Aether-Timeout-Ms";  // calls

inline constexpr std::string_view kPortalMagic = "AEP1";
// Limits a receiver enforces (a sender never produces more).
inline constexpr size_t kMaxPortalPayload = 1u << 20;  // bytes of one event
inline constexpr size_t kMaxPortalEvents = 4096;       // events of one batch
inline constexpr size_t kPortalEventOverhead = 4;      // the length before each payload

// Bytes EncodePortalBatch makes of events with `payload_bytes` bytes in all.
inline size_t PortalBatchSize(size_t events, size_t payload_bytes) {
  return kPortalMagic.size() + events * kPortalEventOverhead + payload_bytes;
}

// The batch of `payloads`, in order. The caller keeps to the limits above.
std::string EncodePortalBatch(const std::vector<std::string_view>& payloads);
std::string EncodePortalBatch(const std::vector<std::string>& payloads);

// All or nothing; the views point into `body`. InvalidArgument naming what
// is wrong (and the event's index): a missing or wrong magic, a truncated
// length or payload, a payload over kMaxPortalPayload, more than
// kMaxPortalEvents events, bytes after the last event.
Result<std::vector<std::string_view>> DecodePortalBatch(std::string_view body);

}  // namespace aether::workflow
