// counter: a workflow function that keeps a count in its memory.
//
//   init payload   the starting value in decimal, e.g. "100" (empty: 0)
//   cast           adds 1 and casts the new count, as decimal text, to
//                  output "out"
//   call           replies the current count (does not change it)
//
// The count lives in a global: it survives from one event to the next for
// the life of the instance, and starts again from the init payload when the
// instance restarts (after a trap, a redeploy, or a move to another node).
// With max_instances > 1 every instance counts its own share of the events.
#define AETHER_HANDLE_INIT
#define AETHER_HANDLE_CAST
#define AETHER_HANDLE_CALL
#include "aether.h"

static long long count;

void aether_on_init(const uint8_t* payload, size_t len) {
  char* end;
  count = strtoll((const char*)payload, &end, 10);  // the SDK NUL-terminates payloads
  if (len > 0 && end == (const char*)payload) {
    aether_log(AETHER_LOG_WARN, "counter: init payload \"%.40s\" is not a number; starting at 0",
               (const char*)payload);
  }
}

void aether_on_cast(const char* src, size_t src_len, const uint8_t* payload, size_t len) {
  (void)src, (void)src_len, (void)payload, (void)len;
  ++count;
  char text[24];
  int n = snprintf(text, sizeof text, "%lld", count);
  int rc = aether_cast("out", text, (size_t)n);
  if (rc != AETHER_OK && rc != AETHER_ENOOUTPUT) {  // "out" may be left unmapped on purpose
    aether_log(AETHER_LOG_WARN, "counter: cast to out: %s", aether_strerror(rc));
  }
  aether_telemetry("count", (double)count);
}

aether_bytes aether_on_call(const char* src, size_t src_len, const uint8_t* payload, size_t len) {
  (void)src, (void)src_len, (void)payload, (void)len;
  return aether_reply_printf("%lld", count);
}
