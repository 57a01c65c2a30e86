/* sleep: reads a duration in milliseconds from stdin (default 0), sleeps with
 * nanosleep (WASI poll_oneoff on a monotonic clock), prints "slept <ms>". */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(void) {
  char buf[64];
  size_t len = fread(buf, 1, sizeof buf - 1, stdin);
  buf[len] = 0;
  long ms = strtol(buf, NULL, 10);
  if (ms < 0) ms = 0;
  struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
  if (nanosleep(&ts, NULL) != 0) {
    perror("sleep: nanosleep");
    return 1;
  }
  printf("slept %ld\n", ms);
  return 0;
}
