// relay: the function of the workflows `aether bench` generates (docs/cli.md,
// "aether bench"): a chain link, or a map-reduce stage that fans out and
// joins.
//
//   init payload   "key=value" pairs separated by ',' (all optional):
//                  fanout=N  outputs out-0 .. out-(N-1) are parallel blocks
//                  work=N    N rounds of integer mixing per event (CPU load)
//   call           does the work; calls out-0 .. out-(N-1) with the payload
//                  and waits for every reply (the join); then calls "out"
//                  with the payload and replies its reply, or, when "out"
//                  is not mapped (the end of the workflow), replies the
//                  payload. A failed call is the reply "error:<output>:<code>".
//   cast           does the work; casts the payload to out-0 .. out-(N-1)
//                  and "out" (unmapped outputs are skipped).
//
// Calls block the instance, so the blocks of a stage run one after the
// other: the join waits for all of them, but they do not overlap in time.
#define AETHER_HANDLE_INIT
#define AETHER_HANDLE_CAST
#define AETHER_HANDLE_CALL
#include "aether.h"

static long fanout;
static long work;
static volatile unsigned long long sink;  // keeps the work from being optimized away

static long Param(const char* text, const char* key) {
  const char* p = strstr(text, key);
  return p == NULL ? 0 : strtol(p + strlen(key), NULL, 10);
}

void aether_on_init(const uint8_t* payload, size_t len) {
  (void)len;
  fanout = Param((const char*)payload, "fanout=");  // the SDK NUL-terminates payloads
  work = Param((const char*)payload, "work=");
  if (fanout < 0 || fanout > 63) fanout = 0;
  if (work < 0) work = 0;
}

static void Work(void) {
  unsigned long long x = (unsigned long long)sink + 0x9e3779b97f4a7c15ull;
  for (long i = 0; i < work; ++i) x = (x ^ (x >> 31)) * 0xbf58476d1ce4e5b9ull;
  sink = x;
}

// The output of block i ("out-<i>"), valid until the next Block call.
static const char* Block(long i) {
  static char name[16];
  snprintf(name, sizeof name, "out-%ld", i);
  return name;
}

void aether_on_cast(const char* src, size_t src_len, const uint8_t* payload, size_t len) {
  (void)src, (void)src_len;
  Work();
  for (long i = 0; i < fanout; ++i) aether_cast(Block(i), payload, len);
  aether_cast("out", payload, len);
}

aether_bytes aether_on_call(const char* src, size_t src_len, const uint8_t* payload, size_t len) {
  (void)src, (void)src_len;
  Work();
  for (long i = 0; i < fanout; ++i) {
    int rc = aether_call(Block(i), payload, len, 0, NULL, NULL);  // the reply is not needed
    if (rc != AETHER_OK) return aether_reply_printf("error:out-%ld:%s", i, aether_strerror(rc));
  }
  uint8_t* reply;
  size_t reply_len;
  int rc = aether_call("out", payload, len, 0, &reply, &reply_len);
  if (rc == AETHER_ENOOUTPUT) {
    aether_bytes echo = {payload, len};  // the SDK keeps the payload until the next call
    return echo;
  }
  if (rc != AETHER_OK) return aether_reply_printf("error:out:%s", aether_strerror(rc));
  return aether_reply_take(reply, reply_len);
}
