// wasm-flags: -Wl,--initial-memory=67108864
/* big_init: a module whose INITIAL linear memory is 64 MiB (1024 pages),
 * for memory-limit checks at instantiation. If it runs, it writes to the last
 * page and prints the memory size in MiB ("64"). */
#include <stdio.h>

int main(void) {
  unsigned long pages = __builtin_wasm_memory_size(0);
  volatile unsigned char* last = (volatile unsigned char*)(pages * 65536 - 1);
  *last = 1;
  printf("%lu\n", pages / 16);
  return 0;
}
