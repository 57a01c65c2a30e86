// wasm-flags: -mexec-model=reactor -Wextra
// Workflow test guest: counts the events it has handled since its instance
// started (casts and calls, this call included); a call replies the count
// in decimal. Proves that memory persists across events, and that a
// restart (a cast of "trap" traps) starts again from 0.
#define AETHER_HANDLE_INIT
#define AETHER_HANDLE_CAST
#define AETHER_HANDLE_CALL
#include "aether.h"

static uint64_t events;
static uint64_t inits;

void aether_on_init(const uint8_t* payload, size_t len) {
  (void)payload, (void)len;
  ++inits;  // stays 1: a restart gets fresh memory
  aether_log(AETHER_LOG_DEBUG, "wf_counter_state: init #%llu", (unsigned long long)inits);
}

void aether_on_cast(const char* src, size_t src_len, const uint8_t* payload, size_t len) {
  (void)src, (void)src_len;
  ++events;
  if (len == 4 && memcmp(payload, "trap", 4) == 0) __builtin_trap();
  aether_telemetry("events", (double)events);
}

aether_bytes aether_on_call(const char* src, size_t src_len, const uint8_t* payload, size_t len) {
  (void)src, (void)src_len, (void)payload, (void)len;
  ++events;
  aether_telemetry("events", (double)events);
  return aether_reply_printf("%llu", (unsigned long long)events);
}
