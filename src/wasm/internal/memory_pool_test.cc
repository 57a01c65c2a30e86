// The pool's promise to the next guest: a reused reservation reads as zero
// however its last user left it — written by the guest, by a host call, by
// a system call, from another thread — and keeps only a bounded set of pages.
#include "wasm/internal/memory_pool.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace aether::wasm {
namespace {

constexpr uint64_t kPage = 4096;

bool AllZero(const uint8_t* p, uint64_t bytes) {
  for (uint64_t i = 0; i < bytes; ++i) {
    if (p[i] != 0) return false;
  }
  return true;
}

uint64_t ResidentPages(uint8_t* base, uint64_t bytes) {
  std::vector<unsigned char> v(bytes / kPage);
  EXPECT_EQ(mincore(base, bytes, v.data()), 0);
  uint64_t n = 0;
  for (unsigned char c : v) n += c & 1;
  return n;
}

// Releases `m`, takes the same reservation back and checks it reads as zero.
void ExpectZeroOnReuse(MemoryPool& pool, uint8_t* m, uint64_t bytes) {
  pool.Release(m, bytes);
  uint8_t* again = pool.Acquire(bytes);
  ASSERT_EQ(again, m);
  EXPECT_TRUE(AllZero(again, bytes));
  pool.Release(again, bytes);
}

// Whether the page holding `p` is writable now (its mapping in /proc/self/maps).
bool Writable(const uint8_t* p) {
  std::ifstream maps("/proc/self/maps");
  auto at = reinterpret_cast<uintptr_t>(p);
  for (std::string line; std::getline(maps, line);) {
    std::istringstream in(line);
    std::string range, perms;
    in >> range >> perms;
    uintptr_t lo = std::stoull(range.substr(0, range.find('-')), nullptr, 16);
    uintptr_t hi = std::stoull(range.substr(range.find('-') + 1), nullptr, 16);
    if (at >= lo && at < hi) return perms[1] == 'w';
  }
  return false;
}

TEST(MemoryPoolTest, AFewTouchedPagesAreZeroedInPlace) {
  MemoryPool pool;
  constexpr uint64_t kBytes = 32 * kPage;
  uint8_t* m = pool.Acquire(kBytes);
  ASSERT_NE(m, nullptr);
  std::memset(m + 3 * kPage + 17, 0xab, 100);  // one page written
  m[31 * kPage + kPage - 1] = 1;               // the last byte
  (void)m[10 * kPage];                         // one page only read
  pool.Release(m, kBytes);
  uint8_t* again = pool.Acquire(kBytes);
  ASSERT_EQ(again, m);  // the same reservation, reused
  EXPECT_TRUE(AllZero(again, kBytes));
  // Zeroed in place: the pages stay, so the next guest does not fault them in.
  EXPECT_GE(ResidentPages(again, kBytes), 2u);
  pool.Release(again, kBytes);
}

// Release zeroes what was recorded; one written page at every offset proves
// the zeroing, the second use of a page (already writable, no fault) that
// it stays recorded.
TEST(MemoryPoolTest, AByteWrittenAnywhereInAPageIsZeroed) {
  MemoryPool pool;
  constexpr uint64_t kBytes = 4 * kPage;
  for (uint64_t off = 0; off < kPage; ++off) {
    uint8_t* m = pool.Acquire(kBytes);
    ASSERT_NE(m, nullptr);
    m[2 * kPage + off] = 0x80;
    m[(off % 4) * kPage + (kPage - 1 - off)] = 0x7f;
    pool.Release(m, kBytes);
    uint8_t* again = pool.Acquire(kBytes);
    ASSERT_EQ(again, m);
    ASSERT_TRUE(AllZero(again, kBytes)) << "a byte written at offset " << off << " survived";
    pool.Release(again, kBytes);
  }
}

TEST(MemoryPoolTest, ManyTouchedPagesAreDropped) {
  MemoryPool pool;
  constexpr uint64_t kBytes = 512 * kPage;
  uint8_t* m = pool.Acquire(kBytes);
  ASSERT_NE(m, nullptr);
  for (uint64_t p = 0; p < 512; p += 2) m[p * kPage] = 7;
  pool.Release(m, kBytes);
  uint8_t* again = pool.Acquire(kBytes);
  ASSERT_EQ(again, m);
  // Dropped, not kept: RSS of an idle pool stays bounded.
  EXPECT_LE(ResidentPages(again, kBytes), 64u);
  EXPECT_TRUE(AllZero(again, kBytes));
  // And recorded from scratch: written again, zeroed again.
  for (uint64_t p = 1; p < 512; p += 3) again[p * kPage + 5] = 9;
  ExpectZeroOnReuse(pool, again, kBytes);
}

// A reservation whose guest wrote many pages stays writable all over (the
// next such guest takes no fault per page); one whose next guest wrote few
// records first writes again.
TEST(MemoryPoolTest, RecordingStopsForBigWritersAndResumesAfterSmallOnes) {
  MemoryPool pool;
  constexpr uint64_t kBytes = 512 * kPage;
  uint8_t* m = pool.Acquire(kBytes);
  ASSERT_NE(m, nullptr);
  EXPECT_FALSE(Writable(m + 100 * kPage));  // recorded at its first write
  for (uint64_t p = 0; p < 512; p += 4) m[p * kPage] = 1;
  pool.Release(m, kBytes);
  m = pool.Acquire(kBytes);
  EXPECT_TRUE(Writable(m + 101 * kPage));  // writable all over
  // Read a few pages only: a page read is in memory too, and a guest that
  // has many pages in memory keeps the reservation writable all over.
  for (uint64_t p = 0; p < 512; p += 128) EXPECT_TRUE(AllZero(m + p * kPage, kPage)) << p;
  m[3] = 1;
  m[300 * kPage] = 2;
  pool.Release(m, kBytes);
  m = pool.Acquire(kBytes);
  EXPECT_TRUE(AllZero(m, kBytes));
  EXPECT_FALSE(Writable(m + 102 * kPage));  // recording again
  m[102 * kPage] = 3;
  EXPECT_TRUE(Writable(m + 102 * kPage));
  ExpectZeroOnReuse(pool, m, kBytes);
}

TEST(MemoryPoolTest, ABigMemoryWithFewTouchedPagesIsZeroedInPlace) {
  MemoryPool pool;
  constexpr uint64_t kBytes = 128ull << 20;  // past the page-table scan
  uint8_t* m = pool.Acquire(kBytes);
  ASSERT_NE(m, nullptr);
  m[0] = 1;
  m[kBytes / 2] = 2;
  m[kBytes - 1] = 3;
  pool.Release(m, kBytes);
  uint8_t* again = pool.Acquire(kBytes);
  ASSERT_EQ(again, m);
  EXPECT_LE(ResidentPages(again, kBytes), 3u);  // the three pages, zeroed
  EXPECT_EQ(again[0], 0);
  EXPECT_EQ(again[kBytes / 2], 0);
  EXPECT_EQ(again[kBytes - 1], 0);
  pool.Release(again, kBytes);
}

TEST(MemoryPoolTest, ABigMemoryWrittenAllOverIsDropped) {
  MemoryPool pool;
  constexpr uint64_t kBytes = 128ull << 20;
  uint8_t* m = pool.Acquire(kBytes);
  ASSERT_NE(m, nullptr);
  for (uint64_t off = 0; off < kBytes; off += 64 * kPage) m[off + 1] = 5;  // 512 pages
  pool.Release(m, kBytes);
  uint8_t* again = pool.Acquire(kBytes);
  ASSERT_EQ(again, m);
  EXPECT_EQ(ResidentPages(again, kBytes), 0u);
  for (uint64_t off = 0; off < kBytes; off += 64 * kPage) ASSERT_EQ(again[off + 1], 0) << off;
  pool.Release(again, kBytes);
}

TEST(MemoryPoolTest, SmallerAndLargerSizesAfterReuse) {
  MemoryPool pool;
  uint8_t* m = pool.Acquire(16 * kPage);
  ASSERT_NE(m, nullptr);
  std::memset(m, 0xff, 16 * kPage);
  pool.Release(m, 16 * kPage);
  uint8_t* big = pool.Acquire(64 * kPage);
  ASSERT_EQ(big, m);
  EXPECT_TRUE(AllZero(big, 64 * kPage));
  std::memset(big, 0x11, 64 * kPage);
  pool.Release(big, 64 * kPage);
  uint8_t* small = pool.Acquire(8 * kPage);
  ASSERT_EQ(small, m);
  EXPECT_TRUE(AllZero(small, 8 * kPage));
  small[7 * kPage] = 1;
  pool.Release(small, 8 * kPage);
  // Pages a smaller user could not reach, made reachable again.
  big = pool.Acquire(64 * kPage);
  ASSERT_EQ(big, m);
  EXPECT_TRUE(AllZero(big, 64 * kPage));
  big[40 * kPage] = 2;
  pool.Release(big, 64 * kPage);
  big = pool.Acquire(64 * kPage);
  EXPECT_TRUE(AllZero(big, 64 * kPage));
  pool.Release(big, 64 * kPage);
}

// memory.grow: the pages it adds are recorded when written, like the rest.
TEST(MemoryPoolTest, PagesAddedByGrowAreZeroedToo) {
  MemoryPool pool;
  uint8_t* m = pool.Acquire(4 * kPage);
  ASSERT_NE(m, nullptr);
  ASSERT_TRUE(pool.Grow(m, 4 * kPage, 20 * kPage));
  m[19 * kPage + 100] = 0xcc;
  m[4 * kPage] = 0xdd;
  ExpectZeroOnReuse(pool, m, 20 * kPage);
}

// The page a system call writes is not faulted in by the kernel (EFAULT):
// PrepareGuestWrite records it first, and it is zeroed like any other.
TEST(MemoryPoolTest, ASystemCallWritesAfterPrepareGuestWrite) {
  MemoryPool pool;
  constexpr uint64_t kBytes = 16 * kPage;
  uint8_t* m = pool.Acquire(kBytes);
  ASSERT_NE(m, nullptr);
  // Without the preparation the kernel refuses: the page is read-only.
  EXPECT_EQ(getrandom(m + 5 * kPage, 64, 0), -1);
  EXPECT_EQ(errno, EFAULT);
  PrepareGuestWrite(m + 5 * kPage - 10, 2 * kPage);  // three pages
  ASSERT_EQ(getrandom(m + 5 * kPage - 10, 2 * kPage, 0), static_cast<ssize_t>(2 * kPage));
  int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  PrepareGuestWrite(m + 9 * kPage, 16);
  EXPECT_GT(read(fd, m + 9 * kPage, 16), 0);
  close(fd);
  ExpectZeroOnReuse(pool, m, kBytes);
}

// A guest's memory may be written from a thread other than the one that
// acquired it (a workflow instance runs on whichever thread has it).
TEST(MemoryPoolTest, PagesWrittenFromAnotherThreadAreZeroed) {
  MemoryPool pool;
  constexpr uint64_t kBytes = 32 * kPage;
  uint8_t* m = pool.Acquire(kBytes);
  ASSERT_NE(m, nullptr);
  std::thread([m] {
    for (uint64_t p = 0; p < 32; p += 5) m[p * kPage + p] = 0x42;
  }).join();
  ExpectZeroOnReuse(pool, m, kBytes);
}

// Past the memory's size the fault is not a first write: it stays a fault
// (the runtime's handler turns it into an out-of-bounds trap).
TEST(MemoryPoolTest, AWritePastTheSizeIsNotTracked) {
  MemoryPool pool;
  uint8_t* m = pool.Acquire(4 * kPage);
  ASSERT_NE(m, nullptr);
  EXPECT_FALSE(TrackFirstWrite(m + 4 * kPage));
  EXPECT_FALSE(TrackFirstWrite(m + kReservationSize - 1));
  int on_stack = 0;
  EXPECT_FALSE(TrackFirstWrite(&on_stack));
  EXPECT_TRUE(TrackFirstWrite(m + 3 * kPage));  // inside: recorded, writable
  m[3 * kPage] = 1;
  pool.Release(m, 4 * kPage);
  uint8_t* again = pool.Acquire(4 * kPage);
  EXPECT_TRUE(AllZero(again, 4 * kPage));
  pool.Release(again, 4 * kPage);
}

// Recorded pages split a memory's mapping; past the process-wide budget a
// memory is made writable all over instead (one mapping), and is zeroed the
// same. The budget comes back when records go.
TEST(MemoryPoolTest, PastThePageBudgetAMemoryIsWritableAllOver) {
  SetTrackedPageBudgetForTesting(3);
  {
    MemoryPool pool;
    constexpr uint64_t kBytes = 16 * kPage;
    uint8_t* a = pool.Acquire(kBytes);
    uint8_t* b = pool.Acquire(kBytes);
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    a[0] = a[4 * kPage] = a[8 * kPage] = 1;  // the budget
    EXPECT_FALSE(Writable(a + 12 * kPage));
    b[2 * kPage] = 2;  // over it
    EXPECT_TRUE(Writable(b + 12 * kPage));
    ExpectZeroOnReuse(pool, b, kBytes);
    ExpectZeroOnReuse(pool, a, kBytes);
    // a keeps its three records while pooled; smaller, it keeps one.
    uint8_t* small = pool.Acquire(2 * kPage);
    ASSERT_EQ(small, a);
    pool.Release(small, 2 * kPage);
    uint8_t* c = pool.Acquire(kBytes);
    ASSERT_NE(c, nullptr);
    c[kPage] = 3;  // the budget has room again
    EXPECT_FALSE(Writable(c + 12 * kPage));
    ExpectZeroOnReuse(pool, c, kBytes);
  }
  SetTrackedPageBudgetForTesting(-1);
}

// A full pool gives a released reservation's pages back to the kernel.
TEST(MemoryPoolTest, AFullPoolKeepsNoMore) {
  MemoryPool pool(1);
  uint8_t* a = pool.Acquire(4 * kPage);
  uint8_t* b = pool.Acquire(4 * kPage);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  std::memset(a, 1, 4 * kPage);
  std::memset(b, 2, 4 * kPage);
  pool.Release(a, 4 * kPage);
  pool.Release(b, 4 * kPage);
  EXPECT_EQ(pool.cached(), 1u);
  EXPECT_EQ(ResidentPages(a, 4 * kPage) + ResidentPages(b, 4 * kPage), 4u);
  uint8_t* x = pool.Acquire(4 * kPage);
  uint8_t* y = pool.Acquire(4 * kPage);
  EXPECT_TRUE(AllZero(x, 4 * kPage));
  EXPECT_TRUE(AllZero(y, 4 * kPage));
  x[0] = y[0] = 3;  // both writable through the record
  pool.Release(x, 4 * kPage);
  pool.Release(y, 4 * kPage);
}

TEST(MemoryPoolTest, AThreadGetsBackTheReservationItReleased) {
  MemoryPool pool;
  uint8_t* mine = pool.Acquire(kPage);
  uint8_t* other = nullptr;
  pool.Release(mine, kPage);
  std::thread([&] {
    other = pool.Acquire(kPage);  // takes `mine`: the only free one
    uint8_t* second = pool.Acquire(kPage);
    pool.Release(other, kPage);
    pool.Release(second, kPage);  // released last: on top of the free list
    other = second;
  }).join();
  // This thread released `mine` last: it gets it back, not the top one.
  uint8_t* again = pool.Acquire(kPage);
  EXPECT_EQ(again, mine);
  EXPECT_NE(again, other);
  pool.Release(again, kPage);
}

// Many pools come and go (a runtime each): their arenas leave the fault
// handler's table, and new ones find room.
TEST(MemoryPoolTest, PoolsComeAndGo) {
  for (int i = 0; i < 2000; ++i) {
    MemoryPool pool;
    uint8_t* m = pool.Acquire(kPage);
    ASSERT_NE(m, nullptr) << i;
    m[1] = 1;
    pool.Release(m, kPage);
  }
}

}  // namespace
}  // namespace aether::wasm
