// wasm-flags: -mexec-model=reactor -Wextra
// Workflow test guest: at start, records telemetry samples whose names hold
// the characters a Prometheus label value must escape (double quote,
// backslash, newline), so a scrape of the engine's /metrics shows whether
// they are escaped. Casts are ignored.
#define AETHER_HANDLE_INIT
#define AETHER_HANDLE_CAST
#include "aether.h"

void aether_on_init(const uint8_t* payload, size_t len) {
  (void)payload, (void)len;
  aether_telemetry("say \"hi\"", 1.5);
  aether_telemetry("C:\\temp", -2);
  aether_telemetry("two\nlines", 0.25);
}

void aether_on_cast(const char* src, size_t src_len, const uint8_t* payload, size_t len) {
  (void)src, (void)src_len, (void)payload, (void)len;
}
