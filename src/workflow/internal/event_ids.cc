#include "workflow/internal/event_ids.h"

#include <openssl/rand.h>

#include <atomic>
#include <random>

#include "common/sha256.h"

namespace aether::workflow::internal {

std::string RandomEventId() {
  uint8_t bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    // Unique is all an id needs (not unguessable): a per-process random
    // start and a counter when the generator fails.
    static std::atomic<uint64_t> counter{std::random_device{}()};
    uint64_t n = counter.fetch_add(1, std::memory_order_relaxed);
    uint64_t seed = std::random_device{}();
    for (int i = 0; i < 8; ++i) {
      bytes[i] = static_cast<uint8_t>(n >> (8 * i));
      bytes[8 + i] = static_cast<uint8_t>(seed >> (8 * i));
    }
  }
  return HexLower(bytes);
}

std::string DerivedEventId(std::string_view parent, std::string_view output, uint32_t seq) {
  // Lengths first, so ("ab","c") and ("a","bc") cannot collide.
  std::string input = std::to_string(parent.size()) + ":" + std::string(parent) + ":" +
                      std::to_string(output.size()) + ":" + std::string(output) + ":" +
                      std::to_string(seq);
  return Sha256Hex(input).substr(0, 32);
}

std::string IngressEventId(std::string_view workflow, std::string_view ingress,
                           std::string_view key) {
  // Event ids are hex: a parent with '/' is never one, so these cannot
  // collide with the ids of casts.
  return DerivedEventId("ingress/" + std::string(workflow) + "/" + std::string(ingress), key, 0);
}

}  // namespace aether::workflow::internal
