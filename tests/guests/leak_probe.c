/* leak_probe: checks that linear memory starts zeroed, then dirties it.
 * It prints "clean" when 256 KiB of grown memory and a 64 KiB .bss array held
 * only zeros, "dirty" otherwise; then fills both with 0xAB so that a runtime
 * which reused memory without clearing it is caught on the next run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int all_zero(const volatile unsigned char* p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (p[i] != 0) return 0;
  }
  return 1;
}

static volatile unsigned char bss[64 * 1024];

int main(void) {
  /* Input "small": only the .bss array, so the runtime's in-place scrub
   * path (few touched pages) is the one under test. */
  char mode[8] = {0};
  fread(mode, 1, sizeof mode - 1, stdin);
  if (mode[0] == 's') {
    int clean_bss = all_zero(bss, sizeof bss);
    for (size_t i = 0; i < sizeof bss; i++) bss[i] = 0xAB;
    puts(clean_bss ? "clean" : "dirty");
    return 0;
  }
  /* Fresh pages straight from memory.grow: malloc'd memory need not be zero. */
  size_t n = 4 * 65536;
  size_t old_pages = __builtin_wasm_memory_grow(0, 4);
  if (old_pages == (size_t)-1) return 1;
  volatile unsigned char* heap = (volatile unsigned char*)(old_pages * 65536);
  if (!heap) return 1;
  int clean = all_zero(heap, n) && all_zero(bss, sizeof bss);
  for (size_t i = 0; i < n; i++) heap[i] = 0xAB;
  for (size_t i = 0; i < sizeof bss; i++) bss[i] = 0xAB;
  puts(clean ? "clean" : "dirty");
  return 0;
}
