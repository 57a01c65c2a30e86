/* fib: input n (a JSON number or a string of digits, 0..90), output fib(n)
 * computed by naive recursion, so it is a CPU benchmark: fib(25) makes about
 * 250 000 calls, and every step up in n costs about 1.6x more.
 * Bad input: message on stderr, exit 1. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

static unsigned long long fib(unsigned n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

int main(void) {
  char buf[64];
  size_t len = fread(buf, 1, sizeof buf - 1, stdin);
  buf[len] = 0;
  char* end;
  errno = 0;
  long n = strtol(buf, &end, 10);
  while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n') end++;
  if (end == buf || *end != 0 || errno != 0 || n < 0 || n > 90) {
    fprintf(stderr, "fib: input must be an integer from 0 to 90, got \"%s\"\n", buf);
    return 1;
  }
  printf("%llu", fib((unsigned)n));
  return 0;
}
