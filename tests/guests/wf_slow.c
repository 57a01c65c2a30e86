// wasm-flags: -mexec-model=reactor -Wextra
// Workflow test guest: spins (busy, no host calls) for the number of
// milliseconds in the payload, e.g. "2000"; then a call replies "done" and
// a cast forwards "done" to output "out". Used for event and call timeouts.
#define AETHER_HANDLE_CAST
#define AETHER_HANDLE_CALL
#include <time.h>

#include "aether.h"

static volatile uint64_t spin_sink;  // keeps the busy loop from being optimized out

static void spin(const uint8_t* payload) {
  long ms = strtol((const char*)payload, NULL, 10);  // the SDK NUL-terminates payloads
  struct timespec t0, t;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (;;) {
    for (int i = 0; i < 10000; ++i) spin_sink += (uint64_t)i;
    clock_gettime(CLOCK_MONOTONIC, &t);
    long elapsed = (t.tv_sec - t0.tv_sec) * 1000L + (t.tv_nsec - t0.tv_nsec) / 1000000L;
    if (elapsed >= ms) break;
  }
}

void aether_on_cast(const char* src, size_t src_len, const uint8_t* payload, size_t len) {
  (void)src, (void)src_len, (void)len;
  spin(payload);
  aether_cast_str("out", "done");
}

aether_bytes aether_on_call(const char* src, size_t src_len, const uint8_t* payload, size_t len) {
  (void)src, (void)src_len, (void)len;
  spin(payload);
  static const char done[] = "done";
  aether_bytes reply = {(const uint8_t*)done, sizeof done - 1};
  return reply;
}
