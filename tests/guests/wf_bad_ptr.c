// wasm-flags: -mexec-model=reactor -Wextra
// Workflow test guest: passes an out-of-bounds pointer to aether.cast, which
// must trap the instance (host_error). Payload "output": the output name is
// out of bounds; anything else: the payload pointer. A call does the same.
#define AETHER_HANDLE_CAST
#define AETHER_HANDLE_CALL
#include "aether.h"

// Far beyond any memory the instance can have (the memory limit is MBs).
#define BAD_PTR ((const void*)(uintptr_t)0xFFFFFF00u)

static void bad_cast(const uint8_t* payload, size_t len) {
  if (len == 6 && memcmp(payload, "output", 6) == 0) {
    aether_raw_cast((const char*)BAD_PTR, 200, "x", 1);
  } else {
    aether_raw_cast("out", 3, BAD_PTR, 4096);
  }
  aether_log(AETHER_LOG_ERROR, "wf_bad_ptr: aether.cast did not trap");
}

void aether_on_cast(const char* src, size_t src_len, const uint8_t* payload, size_t len) {
  (void)src, (void)src_len;
  bad_cast(payload, len);
}

aether_bytes aether_on_call(const char* src, size_t src_len, const uint8_t* payload, size_t len) {
  (void)src, (void)src_len;
  bad_cast(payload, len);
  return aether_reply_str("not trapped");
}
