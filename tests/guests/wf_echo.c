// wasm-flags: -mexec-model=reactor -Wextra
// Workflow test guest: a call replies its payload unchanged; a cast forwards
// its payload to output "out".
#define AETHER_HANDLE_CAST
#define AETHER_HANDLE_CALL
#include "aether.h"

void aether_on_cast(const char* src, size_t src_len, const uint8_t* payload, size_t len) {
  (void)src, (void)src_len;
  aether_cast("out", payload, len);
}

aether_bytes aether_on_call(const char* src, size_t src_len, const uint8_t* payload, size_t len) {
  (void)src, (void)src_len;
  aether_bytes reply = {payload, len};  // the SDK keeps the payload until the next call
  return reply;
}
