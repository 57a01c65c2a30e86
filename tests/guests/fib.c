/* fib: reads n (0..90) from stdin, prints fib(n) by naive recursion
 * (CPU-bound). n out of range: message on stderr, exit 2. */
#include <stdio.h>
#include <stdlib.h>

static unsigned long long fib(unsigned n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

int main(void) {
  char buf[64];
  size_t len = fread(buf, 1, sizeof buf - 1, stdin);
  buf[len] = 0;
  long n = strtol(buf, NULL, 10);
  if (n < 0 || n > 90) {
    fprintf(stderr, "fib: n out of range: %ld\n", n);
    return 2;
  }
  printf("%llu\n", fib((unsigned)n));
  return 0;
}
