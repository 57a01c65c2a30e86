// wasm-flags: -nostdlib -Wl,--no-entry -Wextra
// The relay of `aether bench` (functions/workflow/relay.c) speaking
// EDGELESS's guest ABI instead of Aether's, like a no_std function built
// with EDGELESS's SDK: bench/edgeless_bench.sh runs the same workflows with
// both to compare the two ABIs' costs.
//
//   init   "fanout=N,work=N" (both optional)
//   call   does the work; calls out-0 .. out-(N-1) with the payload (an
//          Err is the reply "error:out-<i>"), then calls "out" and replies
//          its reply; Err from "out" ends the chain (EDGELESS answers Err
//          for an output that is not mapped, the end of the workflow):
//          then it replies the payload
//   cast   does the work; casts the payload to out-0 .. out-(N-1) and "out"
#include "edgeless_abi.h"

enum { kNoReply = 0, kReply = 1, kErr = 2 };

// A bump arena, reset before every handler (as the SDK's no_std one).
static uint8_t arena[2 * 1024 * 1024 + 64 * 1024];
static size_t arena_used;

EXPORT(edgeless_mem_alloc) uint8_t* edgeless_mem_alloc(size_t n) {
  if (arena_used + n > sizeof arena) __builtin_trap();
  uint8_t* p = arena + arena_used;
  arena_used += (n + 7) & ~(size_t)7;
  return p;
}
EXPORT(edgeless_mem_clear) void edgeless_mem_clear(void) { arena_used = 0; }
EXPORT(edgeless_mem_free) void edgeless_mem_free(uint8_t* p, size_t n) { (void)p, (void)n; }

static long fanout;
static long work;
static volatile unsigned long long sink;

static long Param(const char* p, size_t n, const char* key, size_t key_len) {
  for (size_t i = 0; i + key_len <= n; ++i) {
    size_t k = 0;
    while (k < key_len && p[i + k] == key[k]) ++k;
    if (k < key_len) continue;
    long v = 0;
    for (size_t j = i + key_len; j < n && p[j] >= '0' && p[j] <= '9'; ++j) {
      v = v * 10 + (p[j] - '0');
      if (v > 1000000000) break;
    }
    return v;
  }
  return 0;
}

EXPORT(handle_init_asm)
void handle_init_asm(char* payload, size_t payload_len, char* state, size_t state_len) {
  (void)state, (void)state_len;
  fanout = Param(payload, payload_len, "fanout=", 7);
  work = Param(payload, payload_len, "work=", 5);
  if (fanout > 63) fanout = 0;
}

static void Work(void) {
  unsigned long long x = (unsigned long long)sink + 0x9e3779b97f4a7c15ull;
  for (long i = 0; i < work; ++i) x = (x ^ (x >> 31)) * 0xbf58476d1ce4e5b9ull;
  sink = x;
}

// "out-<i>" in `name`; its length.
static size_t Block(long i, char name[8]) {
  size_t n = 0;
  name[n++] = 'o', name[n++] = 'u', name[n++] = 't', name[n++] = '-';
  if (i >= 10) name[n++] = (char)('0' + i / 10);
  name[n++] = (char)('0' + i % 10);
  return n;
}

EXPORT(handle_cast_asm)
void handle_cast_asm(uint8_t* node, uint8_t* component, char* p, size_t n) {
  (void)node, (void)component;
  Work();
  char name[8];
  for (long i = 0; i < fanout; ++i) cast_asm(name, Block(i, name), p, n);
  cast_asm("out", 3, p, n);
}

static int Reply(const char* bytes, size_t n, char** out_ptr, size_t* out_len) {
  char* r = (char*)edgeless_mem_alloc(n);
  memcpy(r, bytes, n);
  *out_ptr = r;
  *out_len = n;
  return kReply;
}

EXPORT(handle_call_asm)
int handle_call_asm(uint8_t* node, uint8_t* component, char* p, size_t n, char** out_ptr,
                    size_t* out_len) {
  (void)node, (void)component;
  Work();
  char name[8];
  char* reply = 0;
  size_t reply_len = 0;
  for (long i = 0; i < fanout; ++i) {
    size_t k = Block(i, name);
    if (call_asm(name, k, p, n, &reply, &reply_len) == kErr) {
      char error[16] = "error:";
      memcpy(error + 6, name, k);
      return Reply(error, 6 + k, out_ptr, out_len);
    }
  }
  int ret = call_asm("out", 3, p, n, &reply, &reply_len);
  if (ret == kReply) {
    *out_ptr = reply;
    *out_len = reply_len;
    return kReply;
  }
  if (ret == kNoReply) return kNoReply;
  return Reply(p, n, out_ptr, out_len);
}
