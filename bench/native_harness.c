/* Times a guest's main() compiled natively (the same C source as the wasm
 * guest, renamed to guest_main), in-process, for the wasm/native ratio.
 * Usage: NAME_native INPUT [ROUNDS]. Prints the best and median round. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int guest_main(void);

static int cmp(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char** argv) {
  const char* input = argc > 1 ? argv[1] : "";
  int rounds = argc > 2 ? atoi(argv[2]) : 20;
  if (rounds < 1 || rounds > 100000) rounds = 20;
  char path[] = "/tmp/aether-native-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return 1;
  FILE* f = fdopen(fd, "w");
  fputs(input, f);
  fclose(f);
  double* ms = calloc((size_t)rounds, sizeof *ms);
  if (!freopen("/dev/null", "w", stdout)) return 1;
  for (int i = 0; i < rounds; i++) {
    if (!freopen(path, "r", stdin)) return 1;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    guest_main();
    clock_gettime(CLOCK_MONOTONIC, &b);
    ms[i] = (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6;
  }
  remove(path);
  qsort(ms, (size_t)rounds, sizeof *ms, cmp);
  fprintf(stderr, "native best %.3f ms median %.3f ms (%d rounds)\n", ms[0], ms[rounds / 2], rounds);
  free(ms);
  return 0;
}
