// The answer to a batch of casts, POST /dataplane/v1/events
// (docs/workflow-protocol.md, "Engine ↔ engine"):
//   {"accepted": N, "dropped": M, "deferred": [i, ...]}
// written by the receiver (FormatBatchAnswer) and read by the sender
// (ParseBatchAnswer). Pure functions: any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace aether::workflow {

// What a peer did with a batch of `n` frames. Every frame is in exactly
// one place: accepted + dropped + deferred.size() + unaccounted == n.
struct BatchAnswer {
  uint64_t accepted = 0;  // in the peer's mailboxes
  uint64_t dropped = 0;   // dropped at the peer (no such instance, or not the sender's to reach)
  // Indexes, ascending, each below n: the peer's mailboxes were full; the
  // sender sends these frames again.
  std::vector<size_t> deferred;
  // Frames a malformed answer does not account for: the sender counts them
  // as dropped and never sends them again (it cannot know whether the peer
  // took them, and at-most-once must not deliver twice).
  uint64_t unaccounted = 0;
  // What was wrong with the answer, for a log line; empty when it was the
  // protocol's.
  std::string problem;
};

// The body the receiver answers; `deferred` ascending.
std::string FormatBatchAnswer(uint64_t accepted, uint64_t dropped,
                              const std::vector<size_t>& deferred);

// Reads a peer's answer to a batch of `n` frames, trusting only what keeps
// the sender safe whatever the peer wrote: a deferred index is used only
// when it is an integer below `n` and above the one before it (so no frame
// is sent again twice, and none outside the batch); "accepted" and
// "dropped" are capped by what is left, and what they leave unexplained is
// `unaccounted`. A body that is not a JSON object accounts for nothing.
BatchAnswer ParseBatchAnswer(std::string_view body, size_t n);

}  // namespace aether::workflow
