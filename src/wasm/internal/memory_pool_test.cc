// The pool's promise to the next guest: a reused reservation reads as zero
// however its last user left it, and keeps only a bounded set of pages.
#include "wasm/internal/memory_pool.h"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cstring>
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

// The scan that tells a written page from one that was only read looks at
// a page 64 bytes at a time: a byte written anywhere in it is found.
TEST(MemoryPoolTest, AByteWrittenAnywhereInAPageIsZeroed) {
  MemoryPool pool;
  constexpr uint64_t kBytes = 4 * kPage;
  for (uint64_t off = 0; off < kPage; ++off) {
    uint8_t* m = pool.Acquire(kBytes);
    ASSERT_NE(m, nullptr);
    m[2 * kPage + off] = 0x80;
    pool.Release(m, kBytes);
    uint8_t* again = pool.Acquire(kBytes);
    ASSERT_EQ(again, m);
    ASSERT_EQ(again[2 * kPage + off], 0) << "a byte at offset " << off << " survived";
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
  pool.Release(again, kBytes);
}

TEST(MemoryPoolTest, ABigMemoryWithFewTouchedPagesIsZeroToo) {
  MemoryPool pool;
  constexpr uint64_t kBytes = 128ull << 20;  // past the page-table scan: dropped
  uint8_t* m = pool.Acquire(kBytes);
  ASSERT_NE(m, nullptr);
  m[0] = 1;
  m[kBytes / 2] = 2;
  m[kBytes - 1] = 3;
  pool.Release(m, kBytes);
  uint8_t* again = pool.Acquire(kBytes);
  ASSERT_EQ(again, m);
  EXPECT_EQ(ResidentPages(again, kBytes), 0u);  // before reading maps them again
  EXPECT_EQ(again[0], 0);
  EXPECT_EQ(again[kBytes / 2], 0);
  EXPECT_EQ(again[kBytes - 1], 0);
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
  pool.Release(small, 8 * kPage);
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

}  // namespace
}  // namespace aether::wasm
