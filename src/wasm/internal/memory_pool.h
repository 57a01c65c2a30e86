// Linear memories for guests: 8 GiB address-space reservations (4 GiB of
// addressable memory plus a 4 GiB guard), so every 32-bit address plus
// 32-bit offset that wasm2c code computes lands inside the reservation and
// an access past the current size faults instead of touching other memory.
// Reservations are reused: on release the touched pages are returned to the
// kernel (they read as zero next time), the mapping stays.
// Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

namespace aether::wasm {

inline constexpr uint64_t kWasmPageSize = 65536;
inline constexpr uint64_t kReservationSize = 8ull << 30;

class MemoryPool {
 public:
  explicit MemoryPool(size_t max_cached = 64) : max_cached_(max_cached) {}
  ~MemoryPool();
  MemoryPool(const MemoryPool&) = delete;
  MemoryPool& operator=(const MemoryPool&) = delete;

  // Returns a reservation whose first `bytes` are readable and writable and
  // zero, and the rest inaccessible; nullptr if the address space is exhausted.
  uint8_t* Acquire(uint64_t bytes);
  // Makes [0, new_bytes) accessible; false if the kernel refuses.
  bool Grow(uint8_t* base, uint64_t old_bytes, uint64_t new_bytes);
  // Returns a reservation; `bytes` is its accessible size.
  void Release(uint8_t* base, uint64_t bytes);

  size_t cached() const;

 private:
  struct Region {
    uint8_t* base;
    uint64_t accessible;
  };
  mutable std::mutex mu_;
  std::vector<Region> free_;
  size_t max_cached_;
};

}  // namespace aether::wasm
