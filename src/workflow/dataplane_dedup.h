// Private to dataplane*.cc: the receiving node's memory of recent batches
// (docs/workflow-protocol.md, "POST /dataplane/v1/events"), so that a
// batch sent again — its answer was lost to a fault, or came after the
// sender's request timeout — is answered as the first time without
// delivering anything twice.
//
// A sender names each batch it forms X-Aether-Batch: <epoch>-<seq> (a
// random epoch per process, a sequence number per batch). A retry of the
// same batch keeps the name; the frames the receiver deferred go into a
// later batch with a new name, so the receiver delivers them then.
//
// Per sending node (as authenticated, so one peer cannot touch another's
// window) the receiver keeps the ids it answered and each answer, oldest
// out first beyond `max_batches`, beyond `max_age`, or beyond `max_bytes`
// of ids and answers (the newest is always kept). Windows of nodes that
// are no longer peers are forgotten (Retain).
//
// Thread-safety: any thread. Batches from one sender are delivered one at
// a time (the deliver callback runs under that sender's lock, so two
// copies arriving at once on two connections are delivered once);
// different senders do not wait for each other.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/limits.h"

namespace aether::workflow {

inline constexpr std::string_view kBatchHeader = "X-Aether-Batch";
inline constexpr size_t kMaxBatchIdLength = 64;

// 1-64 bytes of [0-9A-Za-z._-]: what a receiver accepts as a batch id (it
// is opaque to it).
bool ValidBatchId(std::string_view id);

struct BatchWindowOptions {
  size_t max_batches = kDefaultDataplaneDedupBatches;                // per sending node
  std::chrono::milliseconds max_age = kDefaultDataplaneDedupWindow;  // on `clock`
  size_t max_bytes = kDataplaneDedupMaxBytes;                        // per sending node, about
  Clock* clock = &Clock::Real();                                     // outlives the windows
};

class BatchWindows {
 public:
  explicit BatchWindows(BatchWindowOptions options) : options_(options) {}

  // The answer to batch `id` from `sender`: `deliver()`'s, or, when the
  // window still holds `id`, the answer it gave then (`*duplicate` set,
  // `deliver` not called).
  std::string Once(std::string_view sender, std::string_view id,
                   const std::function<std::string()>& deliver, bool* duplicate);

  // Forgets the windows of senders not in `senders` (SetPeers).
  void Retain(const std::set<std::string, std::less<>>& senders);

  // For tests: batches held and their cost in bytes for `sender`; senders.
  size_t batches(std::string_view sender) const;
  size_t bytes(std::string_view sender) const;
  size_t senders() const;

 private:
  struct Window;
  std::shared_ptr<Window> Find(std::string_view sender) const;

  const BatchWindowOptions options_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Window>, std::less<>> windows_;
};

}  // namespace aether::workflow
