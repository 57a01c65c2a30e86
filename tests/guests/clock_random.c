/* clock_random: prints three lines: two CLOCK_MONOTONIC readings in ns
 * (the second is never smaller; if it were, exit 1) and 16 bytes from
 * random_get as 32 hex digits. */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static unsigned long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

int main(void) {
  unsigned long long t1 = now_ns();
  unsigned long long t2 = now_ns();
  unsigned char bytes[16];
  if (getentropy(bytes, sizeof bytes) != 0) {
    perror("clock_random: getentropy");
    return 1;
  }
  printf("%llu\n%llu\n", t1, t2);
  for (size_t i = 0; i < sizeof bytes; i++) printf("%02x", bytes[i]);
  printf("\n");
  if (t2 < t1) {
    fprintf(stderr, "clock_random: monotonic clock went backwards\n");
    return 1;
  }
  return 0;
}
