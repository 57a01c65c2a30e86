/* stack_overflow: unbounded recursion that clang cannot turn into a loop.
 * The frame lives in wasm locals (no shadow-stack memory), so it is the
 * engine's native call stack / call-depth limit that must stop it.
 * Input: a depth limit (default 0 = unbounded); with a limit it prints the
 * checksum of the recursion, which makes a bounded run testable too. */
#include <stdio.h>
#include <stdlib.h>

static volatile unsigned limit;
static volatile unsigned deepest;

__attribute__((noinline)) static unsigned recurse(unsigned n) {
  deepest = n;
  if (n == limit) return 1;
  unsigned r = recurse(n + 1);
  return r * r + n; /* uses the result: not a tail call, no accumulator form */
}

int main(void) {
  char buf[64];
  size_t len = fread(buf, 1, sizeof buf - 1, stdin);
  buf[len] = 0;
  limit = (unsigned)strtoul(buf, NULL, 10);
  printf("%u\n", recurse(1));
  return 0;
}
