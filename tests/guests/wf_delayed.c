// wasm-flags: -mexec-model=reactor -Wextra
// Workflow test guest: a cast is sent on to output "out" 250 ms later
// (aether.delayed_cast); a call replies with the delayed cast's return code.
#define AETHER_HANDLE_CAST
#define AETHER_HANDLE_CALL
#include "aether.h"

void aether_on_cast(const char* src, size_t src_len, const uint8_t* payload, size_t len) {
  (void)src, (void)src_len;
  aether_delayed_cast(250, "out", payload, len);
}

aether_bytes aether_on_call(const char* src, size_t src_len, const uint8_t* payload, size_t len) {
  (void)src, (void)src_len;
  return aether_reply_printf("rc:%d", aether_delayed_cast(250, "out", payload, len));
}
