/* What one system call costs on this machine, for the per-request counts
 * in docs/benchmarks.md ("System calls per request"): a trivial call
 * (getppid) and the memory pool's read of /proc/self/pagemap for a
 * 32-page memory with two pages touched, as the engine makes it after
 * each hello. Best of 50 rounds of 20k calls each (short rounds, so that
 * some run while nothing else does).
 *
 *   cc -O2 -o /tmp/syscall_cost bench/syscall_cost.c && /tmp/syscall_cost
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

enum { kCalls = 20000, kRounds = 50, kPage = 4096, kPages = 32 };

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
  return 0;
}
