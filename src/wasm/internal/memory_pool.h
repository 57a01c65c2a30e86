// Linear memories for guests: 8 GiB address-space reservations (4 GiB of
// addressable memory plus a 4 GiB guard), so every 32-bit address plus
// 32-bit offset that wasm2c code computes lands inside the reservation and
// an access past the current size faults instead of touching other memory.
//
// Reservations are reused, and handed out zeroed. To know what to zero
// without asking the kernel on every release (a system call costs ~1-2 µs
// on a virtual machine, a small guest's whole run), a guest's memory is
// readable but not writable until written: the first write to a page
// faults, the signal handler (TrackFirstWrite) records the page and makes it
// writable, and the write runs again. Release zeroes the recorded pages;
// every other page was never written and reads as zero. A page stays
// recorded and writable while its reservation is pooled, so the next guest
// that writes it takes no fault. Past kTrackedPages pages the whole memory
// becomes writable and its release reads the page table (pagemap) instead;
// it stays so until a guest that writes little used it.
// Reservations sit in arenas aligned to their size, so the handler finds a
// faulting address's reservation without a lock.
// Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

namespace aether::wasm {

inline constexpr uint64_t kWasmPageSize = 65536;
inline constexpr uint64_t kReservationSize = 8ull << 30;

// For the SIGSEGV handler, first: true when `addr` is in a pooled memory,
// below its current size, so the fault was a first write, and the page is
// now recorded and writable (the access may run again). Async-signal-safe.
bool TrackFirstWrite(const void* addr);

// Records and makes writable the pages of [p, p+len), which must lie inside
// a guest's memory, before a system call writes there: the kernel does not
// fault on a page it may not write, it fails with EFAULT.
void PrepareGuestWrite(uint8_t* p, uint64_t len);

// Tests: the process-wide budget of recorded pages (-1: the default).
void SetTrackedPageBudgetForTesting(int64_t pages);

class MemoryPool {
 public:
  explicit MemoryPool(size_t max_cached = 64);
  ~MemoryPool();
  MemoryPool(const MemoryPool&) = delete;
  MemoryPool& operator=(const MemoryPool&) = delete;

  // Returns a reservation whose first `bytes` are readable and zero (and
  // writable, by the first write's fault), the rest inaccessible; nullptr if
  // the address space is exhausted.
  uint8_t* Acquire(uint64_t bytes);
  // Makes [0, new_bytes) accessible; false if the kernel refuses.
  bool Grow(uint8_t* base, uint64_t old_bytes, uint64_t new_bytes);
  // Returns a reservation; `bytes` is its accessible size.
  void Release(uint8_t* base, uint64_t bytes);

  // Reservations kept with pages, zeroed, ready.
  size_t cached() const;

 private:
  struct Region {
    uint8_t* base;
    uint64_t accessible;
  };
  uint8_t* NewSlotLocked();

  mutable std::mutex mu_;
  std::vector<Region> free_;
  std::vector<uint8_t*> empty_;     // hold no pages and allow no access
  std::vector<uint8_t*> arenas_;    // each of kArenaSlots reservations
  std::vector<size_t> registered_;  // arenas_[i]'s index in the handler's table
  size_t used_in_last_arena_;
  size_t in_use_ = 0;
  size_t max_cached_;
};

}  // namespace aether::wasm
