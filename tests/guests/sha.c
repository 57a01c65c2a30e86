/* sha: reads all of stdin, hashes it repeated 1000 times with a 64-bit
 * FNV-1a-style mix, prints the digest as 16 hex digits and a newline.
 * A memory + compute workload (not a cryptographic hash); the same algorithm
 * as the peers' sha.c, so outputs can be compared. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define ROUNDS 1000

int main(void) {
  size_t cap = 4096, len = 0, n;
  unsigned char* data = malloc(cap);
  if (!data) return 1;
  while ((n = fread(data + len, 1, cap - len, stdin)) > 0) {
    len += n;
    if (len == cap) {
      cap *= 2;
      unsigned char* p = realloc(data, cap);
      if (!p) return 1;
      data = p;
    }
  }
  uint64_t h = 0xcbf29ce484222325ULL;
  for (int r = 0; r < ROUNDS; r++) {
    for (size_t i = 0; i < len; i++) {
      h ^= data[i];
      h *= 0x100000001b3ULL;
    }
    h ^= (uint64_t)r;
    h = (h << 13) | (h >> 51);
  }
  printf("%016llx\n", (unsigned long long)h);
  free(data);
  return 0;
}
