#include "wasm/internal/memory_pool.h"

#include <sys/mman.h>

namespace aether::wasm {

MemoryPool::~MemoryPool() {
  for (const Region& r : free_) munmap(r.base, kReservationSize);
}

uint8_t* MemoryPool::Acquire(uint64_t bytes) {
  Region r{nullptr, 0};
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!free_.empty()) {
      r = free_.back();
      free_.pop_back();
    }
  }
  if (r.base == nullptr) {
    void* p = mmap(nullptr, kReservationSize, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return nullptr;
    r.base = static_cast<uint8_t*>(p);
  }
  // Only change protections when the size differs from the last user's:
  // executions of the same module then cost no mprotect at all.
  if (r.accessible > bytes) {
    if (mprotect(r.base + bytes, r.accessible - bytes, PROT_NONE) != 0) {
      munmap(r.base, kReservationSize);
      return nullptr;
    }
  } else if (r.accessible < bytes) {
    if (mprotect(r.base + r.accessible, bytes - r.accessible, PROT_READ | PROT_WRITE) != 0) {
      munmap(r.base, kReservationSize);
      return nullptr;
    }
  }
  return r.base;
}

bool MemoryPool::Grow(uint8_t* base, uint64_t old_bytes, uint64_t new_bytes) {
  if (new_bytes <= old_bytes) return true;
  return mprotect(base + old_bytes, new_bytes - old_bytes, PROT_READ | PROT_WRITE) == 0;
}

void MemoryPool::Release(uint8_t* base, uint64_t bytes) {
  // Drop the contents so the next guest sees zeroed memory and RSS does
  // not keep what this guest touched.
  if (bytes > 0 && madvise(base, bytes, MADV_DONTNEED) != 0) {
    munmap(base, kReservationSize);
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (free_.size() >= max_cached_) {
    munmap(base, kReservationSize);
    return;
  }
  free_.push_back({base, bytes});
}

size_t MemoryPool::cached() const {
  std::lock_guard<std::mutex> lock(mu_);
  return free_.size();
}

}  // namespace aether::wasm
