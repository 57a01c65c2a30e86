// wasm-flags: -mexec-model=reactor -Wextra
// Workflow test guest: on a cast, calls output "out" with the payload and a
// timeout in ms taken from the init payload (empty = 0 = the instance's
// event timeout), then casts "ok:<reply>" or "err:<code>" (e.g. "err:-3"
// for a timeout) to output "result". A call does the same and also replies
// that text.
#define AETHER_HANDLE_INIT
#define AETHER_HANDLE_CAST
#define AETHER_HANDLE_CALL
#include "aether.h"

static uint32_t timeout_ms;

void aether_on_init(const uint8_t* payload, size_t len) {
  (void)len;
  timeout_ms = (uint32_t)strtoul((const char*)payload, NULL, 10);
}

// The outcome text, as a reply made by the SDK.
static aether_bytes call_out(const uint8_t* payload, size_t len) {
  uint8_t* reply;
  size_t reply_len;
  int rc = aether_call("out", payload, len, timeout_ms, &reply, &reply_len);
  if (rc != AETHER_OK) return aether_reply_printf("err:%d", rc);
  uint8_t* text = malloc(reply_len + 3);
  if (!text) {
    free(reply);
    return aether_reply_printf("err:%d", AETHER_ENOMEM);
  }
  memcpy(text, "ok:", 3);
  memcpy(text + 3, reply, reply_len);
  free(reply);
  return aether_reply_take(text, reply_len + 3);
}

void aether_on_cast(const char* src, size_t src_len, const uint8_t* payload, size_t len) {
  (void)src, (void)src_len;
  aether_bytes r = call_out(payload, len);
  aether_cast("result", r.data, r.len);
}

aether_bytes aether_on_call(const char* src, size_t src_len, const uint8_t* payload, size_t len) {
  (void)src, (void)src_len;
  aether_bytes r = call_out(payload, len);
  aether_cast("result", r.data, r.len);
  return r;
}
