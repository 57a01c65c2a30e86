// wasm-flags: -mexec-model=reactor -Wextra
// Workflow test guest: a cast is forwarded to output "out"; a call calls
// "out" with the same payload (the instance's event timeout) and replies
// with its reply, or with "error:<code>" (e.g. "error:-3" on a timeout).
#define AETHER_HANDLE_CAST
#define AETHER_HANDLE_CALL
#include "aether.h"

void aether_on_cast(const char* src, size_t src_len, const uint8_t* payload, size_t len) {
  (void)src, (void)src_len;
  aether_cast("out", payload, len);
}

aether_bytes aether_on_call(const char* src, size_t src_len, const uint8_t* payload, size_t len) {
  (void)src, (void)src_len;
  uint8_t* reply;
  size_t reply_len;
  int rc = aether_call("out", payload, len, 0, &reply, &reply_len);
  if (rc != AETHER_OK) return aether_reply_printf("error:%d", rc);
  return aether_reply_take(reply, reply_len);
}
