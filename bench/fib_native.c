/* fib(n) compiled natively with the same source as the fib guest, timed
 * in-process, for the wasm/native ratio. Usage: fib_native N [ROUNDS] */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static unsigned long long fib(unsigned n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

int main(int argc, char** argv) {
  unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 30;
  int rounds = argc > 2 ? atoi(argv[2]) : 10;
  double best = 1e30;
  unsigned long long r = 0;
  for (int i = 0; i < rounds; i++) {
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    r = fib(n);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ms = (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6;
    if (ms < best) best = ms;
  }
  printf("fib(%u)=%llu native best of %d: %.3f ms\n", n, r, rounds, best);
  return 0;
}
