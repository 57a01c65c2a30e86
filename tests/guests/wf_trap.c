// wasm-flags: -mexec-model=reactor -Wextra
// Workflow test guest: traps (unreachable) when the payload is "trap";
// otherwise a cast is forwarded to output "out" and a call replies the
// payload. Used to check that a trap restarts the instance and is reported.
#define AETHER_HANDLE_CAST
#define AETHER_HANDLE_CALL
#include "aether.h"

static void maybe_trap(const uint8_t* payload, size_t len) {
  if (len == 4 && memcmp(payload, "trap", 4) == 0) __builtin_trap();
}

void aether_on_cast(const char* src, size_t src_len, const uint8_t* payload, size_t len) {
  (void)src, (void)src_len;
  maybe_trap(payload, len);
  aether_cast("out", payload, len);
}

aether_bytes aether_on_call(const char* src, size_t src_len, const uint8_t* payload, size_t len) {
  (void)src, (void)src_len;
  maybe_trap(payload, len);
  return aether_reply(payload, len);
}
