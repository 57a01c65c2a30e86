#include "workflow/internal/event_ids.h"

#include <openssl/rand.h>

#include <atomic>
#include <random>

#include "common/sha256.h"

namespace aether::workflow::internal {

namespace {

std::string Hex(const uint8_t* bytes, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 15];
  }
  return out;
}

}  // namespace

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
  return Hex(bytes, sizeof bytes);
}

std::string DerivedEventId(std::string_view parent, std::string_view output, uint32_t seq) {
  // Lengths first, so ("ab","c") and ("a","bc") cannot collide.
  std::string input = std::to_string(parent.size()) + ":" + std::string(parent) + ":" +
                      std::to_string(output.size()) + ":" + std::string(output) + ":" +
                      std::to_string(seq);
  return Sha256Hex(input).substr(0, 32);
}

}  // namespace aether::workflow::internal
