#include "wasm/internal/memory_pool.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>

#include "wasm/internal/thread_state.h"

namespace aether::wasm {

namespace {

constexpr uint64_t kOsPage = 4096;
// Pages recorded per reservation, and so zeroed in place on release:
// madvise(MADV_DONTNEED) would flush the TLB on every core and make the next
// guest fault every page back in, which costs more than the execution of a
// small function. Bounds what a pooled memory keeps resident.
constexpr uint32_t kTrackedPages = 64;
// Past this many pages (64 MiB) reading the page table (one read per 512
// pages) costs more than dropping them all: a big memory written all over
// is dropped.
constexpr uint64_t kScanMaxPages = 16384;
// Reservations are carved out of arenas of this many, aligned to the
// arena's size: a reservation's arena is its address rounded down. 16 of
// 8 GiB is 128 GiB of address space, no memory.
constexpr size_t kArenaSlots = 16;
constexpr uint64_t kArenaBytes = kArenaSlots * kReservationSize;
// 128 TiB of user address space holds at most 1024 arenas.
constexpr size_t kMaxArenas = 1024;
// Recorded pages of all pools at once. Each one may split its memory's
// mapping in three, and the kernel allows a process 65530 mappings
// (vm.max_map_count); past that, malloc and thread stacks fail. A guest
// that writes every other page of its memory, times many workflow
// instances, would get there: past this budget a memory becomes writable
// all over (one mapping) instead, as past kTrackedPages.
constexpr int64_t kTrackedBudget = 16384;
std::atomic<int64_t> g_tracked_budget{kTrackedBudget};
std::atomic<int64_t> g_tracked_total{0};

// What the fault handler knows of a reservation. Written by the pool while
// no guest uses the reservation, and by the handler on the guest's thread.
struct SlotState {
  std::atomic<uint64_t> accessible{0};  // the guest's current memory size
  std::atomic<uint32_t> claimed{0};     // entries of `pages` taken, may pass kTrackedPages
  std::array<std::atomic<uint32_t>, kTrackedPages> pages{};  // page index + 1
  std::atomic<bool> all_writable{false};                     // past kTrackedPages: no record
  std::atomic<uint32_t> counted{0};  // this reservation's share of g_tracked_total
};

// Gives back this reservation's share of the budget (its record is gone,
// or its pages are one mapping again).
void Uncount(SlotState& s) {
  uint32_t n = s.counted.exchange(0, std::memory_order_acq_rel);
  if (n != 0) g_tracked_total.fetch_sub(n, std::memory_order_acq_rel);
}

struct ArenaState {
  std::array<SlotState, kArenaSlots> slots;
};

// The handler's table of arenas: base address (0 = free entry) and state.
std::array<std::atomic<uintptr_t>, kMaxArenas> g_arena_base{};
std::array<std::atomic<ArenaState*>, kMaxArenas> g_arena_state{};
std::atomic<size_t> g_arena_high{0};  // entries at or past this were never used
std::mutex g_arena_table_mu;          // registration only; the handler takes no lock

size_t RegisterArena(uintptr_t base, ArenaState* state) {
  std::lock_guard<std::mutex> lock(g_arena_table_mu);
  for (size_t i = 0; i < kMaxArenas; ++i) {
    if (g_arena_base[i].load(std::memory_order_relaxed) != 0) continue;
    g_arena_state[i].store(state, std::memory_order_relaxed);
    g_arena_base[i].store(base, std::memory_order_release);
    if (g_arena_high.load(std::memory_order_relaxed) <= i) {
      g_arena_high.store(i + 1, std::memory_order_release);
    }
    return i;
  }
  return kMaxArenas;
}

void UnregisterArena(size_t i) {
  std::lock_guard<std::mutex> lock(g_arena_table_mu);
  g_arena_base[i].store(0, std::memory_order_release);
}

// The state of the reservation holding `addr`, and its base; nullptr if no
// pool holds it.
SlotState* FindSlot(const void* addr, uint8_t** base) {
  auto* at = static_cast<uint8_t*>(const_cast<void*>(addr));
  uintptr_t in_arena = reinterpret_cast<uintptr_t>(at) & (kArenaBytes - 1);
  uintptr_t arena = reinterpret_cast<uintptr_t>(at) - in_arena;
  size_t high = g_arena_high.load(std::memory_order_acquire);
  for (size_t i = 0; i < high; ++i) {
    if (g_arena_base[i].load(std::memory_order_acquire) != arena) continue;
    ArenaState* st = g_arena_state[i].load(std::memory_order_acquire);
    *base = at - in_arena % kReservationSize;
    return &st->slots[in_arena / kReservationSize];
  }
  return nullptr;
}

SlotState& SlotOf(const uint8_t* base) {
  uint8_t* found = nullptr;
  SlotState* s = FindSlot(base, &found);
  return *s;  // a reservation of a live pool is always registered
}

// How pages a reservation gains (a bigger user, memory.grow) start out:
// read-only while first writes are recorded, else writable.
int NewPagesProt(const SlotState& s) {
  return s.all_writable.load(std::memory_order_acquire) ? PROT_READ | PROT_WRITE : PROT_READ;
}

// Records the page at `offset` of the reservation and makes it writable;
// past kTrackedPages or the budget, the whole memory. False if the kernel
// refuses.
bool Track(SlotState& s, uint8_t* base, uint64_t offset, uint64_t accessible) {
  if (!s.all_writable.load(std::memory_order_acquire)) {
    uint32_t n = s.claimed.fetch_add(1, std::memory_order_acq_rel);
    if (n < kTrackedPages) {
      if (g_tracked_total.fetch_add(1, std::memory_order_acq_rel) <
          g_tracked_budget.load(std::memory_order_relaxed)) {
        s.counted.fetch_add(1, std::memory_order_acq_rel);
        uint64_t page = offset / kOsPage;
        // Recorded before it becomes writable: a written page is always known.
        s.pages[n].store(static_cast<uint32_t>(page + 1), std::memory_order_release);
        if (mprotect(base + page * kOsPage, kOsPage, PROT_READ | PROT_WRITE) == 0) return true;
      } else {
        g_tracked_total.fetch_sub(1, std::memory_order_acq_rel);
      }
    }
    s.all_writable.store(true, std::memory_order_release);
    Uncount(s);
  }
  return mprotect(base, accessible, PROT_READ | PROT_WRITE) == 0;
}

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

void ZeroPage(uint8_t* page) {
  if (!PageIsZero(page)) std::memset(page, 0, kOsPage);
}

// /proc/self/pagemap, opened once; -1 when the process cannot read it (then
// such a release drops its pages).
int PagemapFd() {
  static const int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  return fd;
}

constexpr uint64_t kPagePresent = 1ull << 63;
constexpr uint64_t kPageSwapped = 1ull << 62;

// For a memory that became writable all over: zeroes the pages of
// [base, base+bytes) that are in memory, when there are few of them, and
// says how many; -1 when the caller should drop the pages instead. One read
// of the page table (pagemap) tells which pages are in memory and which are
// in swap: a swapped page holds data that no scan of memory sees (mincore()
// reports it as not resident, which is why this does not use it), and a
// page in neither was never touched or was dropped, so it reads as zero.
int ScrubByPagemap(uint8_t* base, uint64_t bytes) {
  uint64_t pages = bytes / kOsPage;
  if (pages == 0) return 0;
  if (pages > kScanMaxPages) return -1;
  int fd = PagemapFd();
  if (fd < 0) return -1;
  std::array<uint64_t, kTrackedPages> resident{};
  size_t n_resident = 0;
  std::array<uint64_t, 512> entries;
  uint64_t first = reinterpret_cast<uintptr_t>(base) / kOsPage;
  for (uint64_t done = 0; done < pages;) {
    uint64_t want = std::min<uint64_t>(entries.size(), pages - done);
    ssize_t got = pread(fd, entries.data(), want * sizeof(uint64_t),
                        static_cast<off_t>((first + done) * sizeof(uint64_t)));
    if (got <= 0 || got % sizeof(uint64_t) != 0) return -1;
    uint64_t n = static_cast<uint64_t>(got) / sizeof(uint64_t);
    for (uint64_t i = 0; i < n; ++i) {
      if (entries[i] & kPageSwapped) return -1;
      if (!(entries[i] & kPagePresent)) continue;
      if (n_resident == resident.size()) return -1;
      resident[n_resident++] = done + i;
    }
    done += n;
  }
  for (size_t i = 0; i < n_resident; ++i) ZeroPage(base + resident[i] * kOsPage);
  return static_cast<int>(n_resident);
}

// Takes every page and all access away: the reservation holds no memory.
// False if the kernel refuses (the reservation is then abandoned).
bool Reset(uint8_t* base, uint64_t bytes, SlotState& s) {
  Uncount(s);
  s.accessible.store(0, std::memory_order_release);
  s.claimed.store(0, std::memory_order_release);
  s.all_writable.store(false, std::memory_order_release);
  if (bytes == 0) return true;
  return mmap(base, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1,
              0) != MAP_FAILED;
}

// An arena aligned to its size: map twice the size, unmap the ends.
uint8_t* MapArena() {
  void* p =
      mmap(nullptr, 2 * kArenaBytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  auto* start = static_cast<uint8_t*>(p);
  auto at = reinterpret_cast<uintptr_t>(p);
  uint64_t skip = ((at + kArenaBytes - 1) & ~(kArenaBytes - 1)) - at;
  uint8_t* arena = start + skip;
  if (skip > 0) munmap(start, skip);
  if (skip < kArenaBytes) munmap(arena + kArenaBytes, kArenaBytes - skip);
  return arena;
}

// The reservation this thread released last. Taking it again when it is
// free keeps the few pages a small guest touches in this core's cache (the
// scrub on release reads and zeroes them); without it two IO threads trade
// reservations and every execution starts with cache misses. Only compared,
// never dereferenced: a stale hint (another pool, unmapped) just misses.
thread_local const uint8_t* tls_last_released = nullptr;

}  // namespace

bool TrackFirstWrite(const void* addr) {
  uint8_t* base = nullptr;
  SlotState* s = FindSlot(addr, &base);
  if (s == nullptr) return false;
  uint64_t offset = static_cast<const uint8_t*>(addr) - base;
  uint64_t accessible = s->accessible.load(std::memory_order_acquire);
  if (offset >= accessible) return false;  // past the memory: a trap
  return Track(*s, base, offset, accessible);
}

void PrepareGuestWrite(uint8_t* p, uint64_t len) {
  // A write of the byte already there, the first of the range in each page:
  // the fault records the page.
  uint8_t* end = p + len;
  for (uint8_t* at = p; at < end;
       at += kOsPage - (reinterpret_cast<uintptr_t>(at) & (kOsPage - 1))) {
    volatile uint8_t* byte = at;
    *byte = *byte;
  }
}

MemoryPool::MemoryPool(size_t max_cached)
    : used_in_last_arena_(kArenaSlots), max_cached_(max_cached) {
  // Without the handler, a guest's first write would kill the process.
  InstallSignalHandlers();
}

MemoryPool::~MemoryPool() {
  // A reservation still in use (an instance that outlived its runtime)
  // keeps every arena mapped rather than pulling memory from under it.
  if (in_use_ != 0) return;
  for (size_t i = 0; i < arenas_.size(); ++i) {
    ArenaState* state = g_arena_state[registered_[i]].load(std::memory_order_acquire);
    for (SlotState& s : state->slots) Uncount(s);
    UnregisterArena(registered_[i]);
    munmap(arenas_[i], kArenaBytes);
    delete state;
  }
}

uint8_t* MemoryPool::NewSlotLocked() {
  if (used_in_last_arena_ == kArenaSlots) {
    uint8_t* arena = MapArena();
    if (arena == nullptr) return nullptr;
    auto* state = new ArenaState();
    size_t index = RegisterArena(reinterpret_cast<uintptr_t>(arena), state);
    if (index == kMaxArenas) {
      munmap(arena, kArenaBytes);
      delete state;
      return nullptr;
    }
    arenas_.push_back(arena);
    registered_.push_back(index);
    used_in_last_arena_ = 0;
  }
  return arenas_.back() + used_in_last_arena_++ * kReservationSize;
}

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
    } else if (!empty_.empty()) {
      r.base = empty_.back();
      empty_.pop_back();
    } else {
      r.base = NewSlotLocked();
      if (r.base == nullptr) return nullptr;
    }
    ++in_use_;
  }
  SlotState& s = SlotOf(r.base);
  // Only change protections when the size differs from the last user's:
  // executions of the same module then cost no mprotect at all. Pages past
  // the new size leave the record (they were zeroed when released), so a
  // recorded page is always one the guest may write.
  bool ok = true;
  if (r.accessible > bytes) {
    ok = mprotect(r.base + bytes, r.accessible - bytes, PROT_NONE) == 0;
    if (!s.all_writable.load(std::memory_order_acquire)) {
      uint32_t n = std::min(s.claimed.load(std::memory_order_acquire), kTrackedPages);
      uint32_t kept = 0;
      for (uint32_t i = 0; i < n; ++i) {
        uint32_t page = s.pages[i].load(std::memory_order_relaxed);
        if (page != 0 && (page - 1) * kOsPage < bytes) {
          s.pages[kept++].store(page, std::memory_order_relaxed);
        }
      }
      s.claimed.store(kept, std::memory_order_release);
      // While recording, every entry counts against the budget.
      s.counted.fetch_sub(n - kept, std::memory_order_acq_rel);
      g_tracked_total.fetch_sub(n - kept, std::memory_order_acq_rel);
    }
  } else if (r.accessible < bytes) {
    ok = mprotect(r.base + r.accessible, bytes - r.accessible, NewPagesProt(s)) == 0;
  }
  if (!ok) {
    bool reset = Reset(r.base, std::max(r.accessible, bytes), s);
    std::lock_guard<std::mutex> lock(mu_);
    --in_use_;
    if (reset) empty_.push_back(r.base);
    return nullptr;
  }
  s.accessible.store(bytes, std::memory_order_release);
  return r.base;
}

bool MemoryPool::Grow(uint8_t* base, uint64_t old_bytes, uint64_t new_bytes) {
  if (new_bytes <= old_bytes) return true;
  SlotState& s = SlotOf(base);
  if (mprotect(base + old_bytes, new_bytes - old_bytes, NewPagesProt(s)) != 0) return false;
  s.accessible.store(new_bytes, std::memory_order_release);
  return true;
}

void MemoryPool::Release(uint8_t* base, uint64_t bytes) {
  // The next guest must see zeroed memory, and RSS must not keep what this
  // guest touched beyond a small bound.
  SlotState& s = SlotOf(base);
  bool keep = true;
  if (s.all_writable.load(std::memory_order_acquire)) {
    // Written all over: the page table says what to zero, or everything is
    // dropped. It stays writable all over, so the next guest that writes as
    // much does not take a fault per page first (the old way, one page-table
    // read per release); after a guest that wrote little, recording resumes.
    int found = ScrubByPagemap(base, bytes);
    if (found < 0) {
      keep = madvise(base, bytes, MADV_DONTNEED) == 0;
    } else if (found <= static_cast<int>(kTrackedPages / 4)) {
      keep = mprotect(base, bytes, PROT_READ) == 0;
      s.claimed.store(0, std::memory_order_release);
      s.all_writable.store(false, std::memory_order_release);
    }
  } else {
    uint32_t n = std::min(s.claimed.load(std::memory_order_acquire), kTrackedPages);
    for (uint32_t i = 0; i < n; ++i) {
      uint32_t page = s.pages[i].load(std::memory_order_acquire);
      if (page != 0) ZeroPage(base + (page - 1) * kOsPage);
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    --in_use_;
    if (keep && free_.size() < max_cached_) {
      free_.push_back({base, bytes});
      tls_last_released = base;
      return;
    }
  }
  // The pool keeps no more (or the kernel refused a step): this
  // reservation gives its pages back.
  bool reset = Reset(base, bytes, s);
  std::lock_guard<std::mutex> lock(mu_);
  if (reset) empty_.push_back(base);
}

size_t MemoryPool::cached() const {
  std::lock_guard<std::mutex> lock(mu_);
  return free_.size();
}

void SetTrackedPageBudgetForTesting(int64_t pages) {
  g_tracked_budget.store(pages < 0 ? kTrackedBudget : pages, std::memory_order_relaxed);
}

}  // namespace aether::wasm
