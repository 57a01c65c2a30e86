#include "wasm/internal/memory_pool.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace aether::wasm {

MemoryPool::~MemoryPool() {
  for (const Region& r : free_) munmap(r.base, kReservationSize);
}

namespace {
// The reservation this thread released last. Taking it again when it is
// free keeps the few pages a small guest touches in this core's cache (the
// scrub on release reads and zeroes them); without it two IO threads trade
// reservations and every execution starts with cache misses. Only compared,
// never dereferenced: a stale hint (another pool, unmapped) just misses.
thread_local const uint8_t* tls_last_released = nullptr;
}  // namespace

uint8_t* MemoryPool::Acquire(uint64_t bytes) {
  Region r{nullptr, 0};
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!free_.empty()) {
      auto it = std::find_if(free_.rbegin(), free_.rend(),
                             [](const Region& f) { return f.base == tls_last_released; });
      auto pick = it != free_.rend() ? std::prev(it.base()) : std::prev(free_.end());
      r = *pick;
      free_.erase(pick);
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
// Past this many pages (64 MiB) reading the page table (one read per 512
// pages) costs more than dropping them all: a big memory is dropped.
constexpr uint64_t kScanMaxPages = 16384;

// Every release reads each page the guest had mapped: 16-byte vectors (the
// baseline of x86-64 and arm64), 64 bytes a step, and out at the first
// non-zero step (a page the guest wrote usually has one early). A word at a
// time, this was the engine's busiest function after the kernel's.
bool PageIsZero(const uint8_t* p) {
  using V = uint64_t __attribute__((vector_size(16)));
  for (size_t off = 0; off < kOsPage; off += 4 * sizeof(V)) {
    V a, b, c, d;
    std::memcpy(&a, p + off, sizeof a);
    std::memcpy(&b, p + off + sizeof a, sizeof b);
    std::memcpy(&c, p + off + 2 * sizeof a, sizeof c);
    std::memcpy(&d, p + off + 3 * sizeof a, sizeof d);
    V x = (a | b) | (c | d);
    if ((x[0] | x[1]) != 0) return false;
  }
  return true;
}

// /proc/self/pagemap, opened once; -1 when the process cannot read it (then
// every release drops its pages).
int PagemapFd() {
  static const int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  return fd;
}

constexpr uint64_t kPagePresent = 1ull << 63;
constexpr uint64_t kPageSwapped = 1ull << 62;

// Zeroes the pages of [base, base+bytes) that the guest touched, when there
// are few of them; false when the caller should drop the pages instead.
// One read of the page table (pagemap) tells which pages are in memory and
// which are in swap: a swapped page holds data that no scan of memory sees
// (mincore() reports it as not resident, which is why this does not use
// it), and a page in neither was never touched or was dropped, so it reads
// as zero.
bool ScrubInPlace(uint8_t* base, uint64_t bytes) {
  uint64_t pages = bytes / kOsPage;
  if (pages == 0) return true;
  if (pages > kScanMaxPages) return false;
  int fd = PagemapFd();
  if (fd < 0) return false;
  std::array<uint64_t, kScrubMaxPages> resident{};
  size_t n_resident = 0;
  std::array<uint64_t, 512> entries;
  uint64_t first = reinterpret_cast<uintptr_t>(base) / kOsPage;
  for (uint64_t done = 0; done < pages;) {
    uint64_t want = std::min<uint64_t>(entries.size(), pages - done);
    ssize_t got = pread(fd, entries.data(), want * sizeof(uint64_t),
                        static_cast<off_t>((first + done) * sizeof(uint64_t)));
    if (got <= 0 || got % sizeof(uint64_t) != 0) return false;
    uint64_t n = static_cast<uint64_t>(got) / sizeof(uint64_t);
    for (uint64_t i = 0; i < n; ++i) {
      if (entries[i] & kPageSwapped) return false;
      if (!(entries[i] & kPagePresent)) continue;
      if (n_resident == resident.size()) return false;
      resident[n_resident++] = done + i;
    }
    done += n;
  }
  for (size_t i = 0; i < n_resident; ++i) {
    uint8_t* page = base + resident[i] * kOsPage;
    if (!PageIsZero(page)) std::memset(page, 0, kOsPage);
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
  tls_last_released = base;
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
