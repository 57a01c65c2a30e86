/* grow: reads N from stdin, mallocs N MiB (memory.grow), writes one byte in
 * every 4 KiB page, prints N. When malloc returns NULL (the memory limit is
 * reached) it writes a message to stderr and exits with 1. */
#include <stdio.h>
#include <stdlib.h>

int main(void) {
  char buf[64];
  size_t len = fread(buf, 1, sizeof buf - 1, stdin);
  buf[len] = 0;
  long n = strtol(buf, NULL, 10);
  if (n < 0 || n > 4095) {
    fprintf(stderr, "grow: N out of range: %ld\n", n);
    return 2;
  }
  size_t bytes = (size_t)n << 20;
  volatile unsigned char* p = malloc(bytes ? bytes : 1);
  if (!p) {
    fprintf(stderr, "grow: malloc(%ld MiB) failed\n", n);
    return 1;
  }
  for (size_t i = 0; i < bytes; i += 4096) p[i] = (unsigned char)i;
  printf("%ld\n", n);
  return 0;
}
