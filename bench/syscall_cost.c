/* What one system call costs on this machine, for the per-request counts
 * in docs/benchmarks.md ("System calls per request"): a trivial call
 * (getppid) and the memory pool's read of /proc/self/pagemap for a
 * 32-page memory with two pages touched, as the engine makes it after
 * each hello. Then the PAGEMAP_SCAN ioctl (Linux 6.7) over one such memory,
 * and over eight reservations side by side in one call (what a pool
 * zeroing released memories in batches would make): whether one call for
 * several memories is cheaper than a read each. Best of 50 rounds of 20k
 * calls each (short rounds, so that some run while nothing else does;
 * the eight-reservation scan 2k).
 *
 *   cc -O2 -o /tmp/syscall_cost bench/syscall_cost.c && /tmp/syscall_cost
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

enum { kCalls = 20000, kRounds = 50, kPage = 4096, kPages = 32, kSlots = 8 };
static const uint64_t kReservation = 1ull << 33;

/* include/uapi/linux/fs.h of Linux 6.7; Debian 12's headers predate it. */
struct PmScanArg {
  uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
  uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
struct PageRegion {
  uint64_t start, end, categories;
};
#define PAGEMAP_SCAN_IOCTL _IOWR('f', 16, struct PmScanArg)

/* Present or swapped pages of [start, end): regions found, -1 on error. */
static int Scan(int fd, uint64_t start, uint64_t end) {
  struct PageRegion vec[64];
  struct PmScanArg arg = {0};
  arg.size = sizeof arg;
  arg.start = start;
  arg.end = end;
  arg.vec = (uintptr_t)vec;
  arg.vec_len = 64;
  arg.category_anyof_mask = arg.return_mask = (1u << 3) | (1u << 4);
  return ioctl(fd, PAGEMAP_SCAN_IOCTL, &arg);
}

static double NowNs(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

int main(void) {
  /* An 8 GiB reservation like the pool's, its first 32 pages accessible. */
  uint8_t* m =
      mmap(NULL, 1ull << 33, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == MAP_FAILED || mprotect(m, kPages * kPage, PROT_READ | PROT_WRITE) != 0) {
    perror("syscall_cost: mmap");
    return 1;
  }
  m[0] = 1;
  m[16 * kPage] = 1;
  int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    perror("syscall_cost: /proc/self/pagemap");
    return 1;
  }
  uint64_t entries[kPages];
  off_t at = (off_t)((uintptr_t)m / kPage * sizeof(uint64_t));
  double best_trivial = 1e18, best_pagemap = 1e18;
  for (int r = 0; r < kRounds; ++r) {
    double t0 = NowNs();
    for (int i = 0; i < kCalls; ++i) (void)getppid();
    double ns = (NowNs() - t0) / kCalls;
    if (ns < best_trivial) best_trivial = ns;
    t0 = NowNs();
    for (int i = 0; i < kCalls; ++i) {
      if (pread(fd, entries, sizeof entries, at) != (ssize_t)sizeof entries) {
        perror("syscall_cost: pread");
        return 1;
      }
    }
    ns = (NowNs() - t0) / kCalls;
    if (ns < best_pagemap) best_pagemap = ns;
  }
  printf("getppid: %.0f ns per call\npagemap read of %d entries: %.0f ns per call\n", best_trivial,
         kPages, best_pagemap);

  /* Eight reservations side by side, each with 32 pages accessible and two
   * touched, like eight released hello memories. */
  uint8_t* arena = mmap(NULL, kSlots * kReservation, PROT_NONE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (arena == MAP_FAILED) {
    perror("syscall_cost: mmap");
    return 1;
  }
  for (int s = 0; s < kSlots; ++s) {
    uint8_t* slot = arena + s * kReservation;
    if (mprotect(slot, kPages * kPage, PROT_READ | PROT_WRITE) != 0) {
      perror("syscall_cost: mprotect");
      return 1;
    }
    slot[0] = 1;
    slot[16 * kPage] = 1;
  }
  uint64_t one_end = (uintptr_t)arena + kPages * kPage;
  uint64_t all_end = (uintptr_t)arena + (kSlots - 1) * kReservation + kPages * kPage;
  if (Scan(fd, (uintptr_t)arena, one_end) < 0) {
    printf("PAGEMAP_SCAN: not available on this kernel\n");
    return 0;
  }
  double best_one = 1e18, best_all = 1e18;
  for (int r = 0; r < kRounds; ++r) {
    double t0 = NowNs();
    for (int i = 0; i < kCalls; ++i) (void)Scan(fd, (uintptr_t)arena, one_end);
    double ns = (NowNs() - t0) / kCalls;
    if (ns < best_one) best_one = ns;
    t0 = NowNs();
    for (int i = 0; i < kCalls / 10; ++i) (void)Scan(fd, (uintptr_t)arena, all_end);
    ns = (NowNs() - t0) / (kCalls / 10);
    if (ns < best_all) best_all = ns;
  }
  printf("PAGEMAP_SCAN of one memory: %.0f ns per call\n", best_one);
  printf("PAGEMAP_SCAN of %d reservations in one call: %.0f ns (%.0f ns per memory)\n", kSlots,
         best_all, best_all / kSlots);
  return 0;
}
