#include "wasm/internal/memory_pool.h"

#include <sys/mman.h>
#include <sys/sysinfo.h>

#include <cstring>

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

namespace {

constexpr uint64_t kOsPage = 4096;
// A guest that touched at most this many pages gets them zeroed in place:
// madvise(MADV_DONTNEED) would flush the TLB on every core and make the next
// guest fault every page back in, which costs more than the execution of a
// small function. Bounds what a pooled memory keeps resident.
constexpr uint64_t kScrubMaxPages = 64;

bool PageIsZero(const uint8_t* p) {
  const auto* w = reinterpret_cast<const uint64_t*>(p);
  uint64_t acc = 0;
  for (size_t i = 0; i < kOsPage / sizeof(uint64_t); ++i) acc |= w[i];
  return acc == 0;
}

// Zeroes the resident pages of [base, base+bytes) when there are few of
// them; false when the caller should drop the pages instead.
bool ScrubInPlace(uint8_t* base, uint64_t bytes) {
  uint64_t pages = bytes / kOsPage;
  if (pages == 0) return true;
  // mincore() reports a swapped-out page as not resident although it holds
  // data; only trust it while the system has no swap at all (checked now:
  // swapoff brings every page back in before it returns).
  struct sysinfo si;
  if (sysinfo(&si) != 0 || si.totalswap != 0) return false;
  thread_local std::vector<unsigned char> residency;
  if (residency.size() < pages) residency.resize(pages);
  if (mincore(base, bytes, residency.data()) != 0) return false;
  uint64_t resident = 0;
  for (uint64_t i = 0; i < pages; ++i) resident += residency[i] & 1;
  if (resident > kScrubMaxPages) return false;
  for (uint64_t i = 0; i < pages; ++i) {
    if ((residency[i] & 1) && !PageIsZero(base + i * kOsPage)) {
      std::memset(base + i * kOsPage, 0, kOsPage);
    }
  }
  return true;
}

}  // namespace

void MemoryPool::Release(uint8_t* base, uint64_t bytes) {
  // The next guest must see zeroed memory, and RSS must not keep what this
  // guest touched beyond a small bound.
  if (bytes > 0 && !ScrubInPlace(base, bytes) && madvise(base, bytes, MADV_DONTNEED) != 0) {
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
