// wasm-flags: -nostdlib -Wl,--no-entry -Wextra
// Workflow test guest speaking EDGELESS's guest ABI (edgeless_function's
// imports.rs and export.rs), without WASI or libc, like a no_std function
// built with EDGELESS's SDK: a bump arena reset by edgeless_mem_clear.
// Each cast is a command; results go to output "log" as text:
//   cast:<out>:<msg>        cast_asm(out, msg)
//   self:<msg>              cast_asm("self", msg)
//   raw:<msg>               cast_raw_asm(src, msg)       (answer the sender)
//   slfraw:<msg>            cast_raw_asm(slf(), msg)
//   call:<out>:<msg>        call_asm(out, msg) -> log "call:<ret>:<reply>"
//   callraw:<msg>           call_raw_asm(src, msg) -> log "call:<ret>:<reply>"
//   delay:<ms>:<target>:<m> delayed_cast_asm(ms, target, m)
//   sync:<state>            sync_asm(state)
//   log:<level>:<msg>       telemetry_log_asm(level, "probe", msg)
//   slf / src               log "slf:<node hex>:<component hex>" (or src:)
//   trap                    unreachable
//   badptr                  cast_asm with a target outside the memory
//   anything else           log "got:<msg>"
// Calls: "echo:<x>" replies x, "err" answers CallRet::Err, "none" no
// reply, "big7"/"big8"/"big9" reply 777/778/779 bytes (see
// edgeless_mem_alloc), "call:<out>:<msg>" calls on and replies with the
// result; EDGELESS's HTTP request JSON ({"method":...}, from an
// http-ingress in its format) is answered 200 with the request itself as
// the body and a few headers, good and bad. Init logs
// "init:<payload|->|state:<state|->"; stop logs "stop".
#include "edgeless_abi.h"

static uint8_t arena[64 * 1024];
static size_t arena_used;

// Hostile sizes, for a reply handed to a caller's allocator inside its
// call_asm: 777 traps, 778 never returns, 779 makes a host call itself.
EXPORT(edgeless_mem_alloc) uint8_t* edgeless_mem_alloc(size_t n) {
  if (n == 777 || arena_used + n > sizeof arena) __builtin_trap();
  if (n == 778) {
    for (volatile int spin = 1; spin != 0;) {
    }
  }
  if (n == 779) cast_asm("log", 3, "reentered", 9);
  uint8_t* p = arena + arena_used;
  arena_used += (n + 7) & ~(size_t)7;
  return p;
}
EXPORT(edgeless_mem_clear) void edgeless_mem_clear(void) { arena_used = 0; }
EXPORT(edgeless_mem_free) void edgeless_mem_free(uint8_t* p, size_t n) { (void)p, (void)n; }

static size_t len(const char* s) {
  size_t n = 0;
  while (s[n] != 0) ++n;
  return n;
}

// Text built in a static buffer.
static char text[4096];
static size_t text_len;
static void put(const char* s, size_t n) {
  for (size_t i = 0; i < n && text_len < sizeof text; ++i) text[text_len++] = s[i];
}
static void puts_(const char* s) { put(s, len(s)); }
static void put_hex(const uint8_t* b, size_t n) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; ++i) {
    char h[2] = {digits[b[i] >> 4], digits[b[i] & 15]};
    put(h, 2);
  }
}
static void put_int(int v) {
  char buf[12];
  int i = 0;
  if (v < 0) {
    put("-", 1);
    v = -v;
  }
  do buf[i++] = (char)('0' + v % 10);
  while ((v /= 10) != 0);
  while (i > 0) put(&buf[--i], 1);
}
static void log_text(void) { cast_asm("log", 3, text, text_len); }

static int starts(const char* p, size_t n, const char* prefix) {
  size_t k = len(prefix);
  if (n < k) return 0;
  for (size_t i = 0; i < k; ++i) {
    if (p[i] != prefix[i]) return 0;
  }
  return 1;
}
static size_t find(const char* p, size_t n, char c) {
  for (size_t i = 0; i < n; ++i) {
    if (p[i] == c) return i;
  }
  return n;
}
static uint64_t number(const char* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = v * 10 + (uint64_t)(p[i] - '0');
  return v;
}

static void log_call(int ret, const char* reply, size_t reply_len) {
  text_len = 0;
  puts_("call:");
  put_int(ret);
  puts_(":");
  if (ret == 1) put(reply, reply_len);
  log_text();
}

EXPORT(handle_cast_asm)
void handle_cast_asm(uint8_t* node, uint8_t* component, char* p, size_t n) {
  char* reply = 0;
  size_t reply_len = 0;
  if (starts(p, n, "cast:")) {
    size_t colon = 5 + find(p + 5, n - 5, ':');
    cast_asm(p + 5, colon - 5, p + colon + 1, n - colon - 1);
  } else if (starts(p, n, "self:")) {
    cast_asm("self", 4, p + 5, n - 5);
  } else if (starts(p, n, "raw:")) {
    cast_raw_asm(node, component, p + 4, n - 4);
  } else if (starts(p, n, "slfraw:")) {
    uint8_t me_node[16], me[16];
    slf_asm(me_node, me);
    cast_raw_asm(me_node, me, p + 7, n - 7);
  } else if (starts(p, n, "callraw:")) {
    int ret = call_raw_asm(node, component, p + 8, n - 8, &reply, &reply_len);
    log_call(ret, reply, reply_len);
  } else if (starts(p, n, "call:")) {
    size_t colon = 5 + find(p + 5, n - 5, ':');
    int ret = call_asm(p + 5, colon - 5, p + colon + 1, n - colon - 1, &reply, &reply_len);
    log_call(ret, reply, reply_len);
  } else if (starts(p, n, "delay:")) {
    size_t c1 = 6 + find(p + 6, n - 6, ':');
    size_t c2 = c1 + 1 + find(p + c1 + 1, n - c1 - 1, ':');
    delayed_cast_asm(number(p + 6, c1 - 6), p + c1 + 1, c2 - c1 - 1, p + c2 + 1, n - c2 - 1);
  } else if (starts(p, n, "sync:")) {
    sync_asm(p + 5, (uint32_t)(n - 5));
  } else if (starts(p, n, "log:")) {
    telemetry_log_asm((size_t)(p[4] - '0'), "probe", 5, p + 6, n - 6);
  } else if (starts(p, n, "slf") && n == 3) {
    uint8_t me_node[16], me[16];
    slf_asm(me_node, me);
    text_len = 0;
    puts_("slf:");
    put_hex(me_node, 16);
    puts_(":");
    put_hex(me, 16);
    log_text();
  } else if (starts(p, n, "src") && n == 3) {
    text_len = 0;
    puts_("src:");
    put_hex(node, 16);
    puts_(":");
    put_hex(component, 16);
    log_text();
  } else if (starts(p, n, "trap")) {
    __builtin_trap();
  } else if (starts(p, n, "badptr")) {
    cast_asm((const char*)0x7ffffff0, 64, p, n);
  } else {
    text_len = 0;
    puts_("got:");
    put(p, n);
    log_text();
  }
}

EXPORT(handle_call_asm)
int handle_call_asm(uint8_t* node, uint8_t* component, char* p, size_t n, char** out_ptr,
                    size_t* out_len) {
  (void)node, (void)component;
  if (starts(p, n, "echo:")) {
    char* r = (char*)edgeless_mem_alloc(n - 5);
    memcpy(r, p + 5, n - 5);
    *out_ptr = r;
    *out_len = n - 5;
    return 1;
  }
  if (starts(p, n, "err")) return 2;
  if (starts(p, n, "{\"method\":") && n <= 900) {
    // {"body":[b,...],"status":200,"headers":{"content-type":"application/json"}}
    text_len = 0;
    puts_("{\"body\":[");
    for (size_t i = 0; i < n; ++i) {
      if (i > 0) put(",", 1);
      put_int((uint8_t)p[i]);
    }
    // Headers a client should see (x-function, cache-control) and some it
    // must not: a CR LF that would split the response, the server's own
    // framing, a name that is not a token.
    puts_(
        "],\"status\":200,\"headers\":{\"content-type\":\"application/json\","
        "\"x-function\":\"wfe\",\"cache-control\":\"no-store\","
        "\"x-split\":\"a\\r\\nset-cookie: evil=1\",\"content-length\":\"1\","
        "\"transfer-encoding\":\"chunked\",\"server\":\"fake\",\"bad name\":\"x\"}}");
    char* r = (char*)edgeless_mem_alloc(text_len);
    memcpy(r, text, text_len);
    *out_ptr = r;
    *out_len = text_len;
    return 1;
  }
  if (starts(p, n, "big") && n == 4) {
    // "big7", "big8", "big9": a reply of 777, 778 or 779 bytes (the
    // arena is static, so the bytes past the 776 allocated are there).
    char* r = (char*)edgeless_mem_alloc(776);
    size_t size = 770 + (size_t)(p[3] - '0');
    memset(r, 'b', size);
    *out_ptr = r;
    *out_len = size;
    return 1;
  }
  if (starts(p, n, "call:")) {
    size_t colon = 5 + find(p + 5, n - 5, ':');
    char* reply = 0;
    size_t reply_len = 0;
    int ret = call_asm(p + 5, colon - 5, p + colon + 1, n - colon - 1, &reply, &reply_len);
    if (ret != 1) return ret;
    *out_ptr = reply;
    *out_len = reply_len;
    return 1;
  }
  return 0;
}

EXPORT(handle_init_asm)
void handle_init_asm(char* payload, size_t payload_len, char* state, size_t state_len) {
  text_len = 0;
  puts_("init:");
  if (payload_len > 0) {
    put(payload, payload_len);
  } else {
    puts_("-");
  }
  puts_("|state:");
  if (state_len > 0) {
    put(state, state_len);
  } else {
    puts_("-");
  }
  log_text();
}

EXPORT(handle_stop_asm) void handle_stop_asm(void) {
  text_len = 0;
  puts_("stop");
  log_text();
}
