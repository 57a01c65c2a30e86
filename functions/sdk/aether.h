/* aether.h: the C guest SDK for Aether workflow functions.
 *
 * A workflow function is a WASI reactor that Aether keeps running as a
 * long-lived instance: the engine calls its handlers once per event, one
 * event at a time, and its memory (globals, the heap) persists between
 * events. The wire-level contract is docs/workflow-protocol.md; this header
 * hides it behind plain C callbacks.
 *
 * Writing a function: say which handlers you implement, include this header,
 * define them.
 *
 *     #define AETHER_HANDLE_CAST            // exports handle_cast
 *     #define AETHER_HANDLE_CALL            // exports handle_call
 *     #include "aether.h"
 *
 *     void aether_on_cast(const char* src, size_t src_len,
 *                         const uint8_t* payload, size_t len) {
 *       aether_cast("out", payload, len);
 *     }
 *     aether_bytes aether_on_call(const char* src, size_t src_len,
 *                                 const uint8_t* payload, size_t len) {
 *       return aether_reply_str("pong");
 *     }
 *
 * The four switches and the callbacks they require:
 *
 *   AETHER_HANDLE_INIT  void aether_on_init(const uint8_t* payload, size_t len);
 *   AETHER_HANDLE_CAST  void aether_on_cast(const char* src, size_t src_len,
 *                                           const uint8_t* payload, size_t len);
 *   AETHER_HANDLE_CALL  aether_bytes aether_on_call(const char* src, size_t src_len,
 *                                                   const uint8_t* payload, size_t len);
 *   AETHER_HANDLE_STOP  void aether_on_stop(void);
 *
 * A handler whose switch is not defined is not exported at all, which is what
 * the protocol wants: a missing handle_init/handle_stop is a no-op, and an
 * event for a missing handle_cast/handle_call fails that event (counted as a
 * failure, without restarting the instance). A switch without its callback is
 * a link error ("undefined symbol: aether_on_cast").
 *
 * The exports (aether_alloc and the chosen handle_*) are defined by the
 * translation unit that defines at least one AETHER_HANDLE_* switch before
 * including this header: in a module made of several .c files, define the
 * switches in exactly one of them; the others include the header plainly and
 * get only the API below.
 *
 * Buffers: `src` and `payload` are valid during the callback only (the SDK
 * frees them when it returns: keep a copy of what you need later). Both are
 * followed by a NUL byte that is not counted in the length, so text payloads
 * can be used as C strings (a payload may itself contain NULs). `src` is the
 * sending component's name ("" for none).
 *
 * Replies: aether_on_call returns an aether_bytes that must stay valid after
 * the callback has returned: static or global memory, bytes inside `payload`
 * or `src` (the SDK then keeps that buffer until the next call: an echo may
 * return its payload), or one of the aether_reply_* helpers, which put the
 * reply into a buffer owned by the SDK (freed when the next reply is made).
 * Never a pointer to the callback's stack. {NULL, 0} is the empty reply.
 *
 * Build (clang-14 and wasi-libc from Debian):
 *
 *     clang-14 --target=wasm32-wasi --sysroot=/usr -mexec-model=reactor -O2 \
 *         -Wall -Wextra -I functions/sdk -Wl,--strip-debug -o f.wasm f.c
 *
 * Threads: instances are single-threaded; nothing here is thread-safe.
 * Memory: aether_alloc is malloc, so the heap counts against the instance's
 * memory limit; a trap (including __builtin_trap, abort, or an out-of-bounds
 * access) ends the event and restarts the instance with fresh memory.
 */
#ifndef AETHER_SDK_AETHER_H
#define AETHER_SDK_AETHER_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Error codes: what aether_cast/aether_call/aether_delayed_cast return ---- */

#define AETHER_OK 0
#define AETHER_ENOOUTPUT (-1) /* the output is not mapped in the workflow */
#define AETHER_EFULL (-2)     /* the target's mailbox (or link) is full: event dropped */
#define AETHER_ETIMEOUT (-3)  /* a call got no reply in time */
#define AETHER_EFAILED (-4)   /* the target failed the event (trap, no handler) or is unavailable */
#define AETHER_ETOOBIG (-5)   /* the payload is over the limit (1 MiB) */
/* SDK-side only, never returned by the engine: malloc failed in the guest. */
#define AETHER_ENOMEM (-100)

/* Log levels for aether_log. */
#define AETHER_LOG_DEBUG 0
#define AETHER_LOG_INFO 1
#define AETHER_LOG_WARN 2
#define AETHER_LOG_ERROR 3

/* A reply: `len` bytes at `data`. */
typedef struct aether_bytes {
  const uint8_t* data;
  size_t len;
} aether_bytes;

/* ---- The raw imports (module "aether"), as in docs/workflow-protocol.md ----
 * Prefer the wrappers below. A pointer/length outside the guest's memory
 * traps the instance (host_error). */

#define AETHER_IMPORT_(name) __attribute__((import_module("aether"), import_name(#name)))

AETHER_IMPORT_(cast)
int32_t aether_raw_cast(const char* out, size_t out_len, const void* payload, size_t len);
AETHER_IMPORT_(call)
int32_t aether_raw_call(const char* out, size_t out_len, const void* payload, size_t len,
                        uint32_t timeout_ms);
AETHER_IMPORT_(call_reply)
int32_t aether_raw_call_reply(void* dst, size_t dst_len);
AETHER_IMPORT_(delayed_cast)
int32_t aether_raw_delayed_cast(uint32_t delay_ms, const char* out, size_t out_len,
                                const void* payload, size_t len);
AETHER_IMPORT_(log)
void aether_raw_log(int32_t level, const char* msg, size_t len);
AETHER_IMPORT_(telemetry)
void aether_raw_telemetry(const char* name, size_t name_len, double value);

#undef AETHER_IMPORT_

/* ---- The API ---- */

/* A short name for an error code: "ENOOUTPUT", ..., "OK", or "EUNKNOWN". */
static inline const char* aether_strerror(int code) {
  switch (code) {
    case AETHER_OK:
      return "OK";
    case AETHER_ENOOUTPUT:
      return "ENOOUTPUT";
    case AETHER_EFULL:
      return "EFULL";
    case AETHER_ETIMEOUT:
      return "ETIMEOUT";
    case AETHER_EFAILED:
      return "EFAILED";
    case AETHER_ETOOBIG:
      return "ETOOBIG";
    case AETHER_ENOMEM:
      return "ENOMEM";
    default:
      return "EUNKNOWN";
  }
}

/* Sends `len` bytes to the component mapped to `output` (a NUL-terminated
 * output name), without waiting. 0 or a negative AETHER_E* code. */
static inline int aether_cast(const char* output, const void* payload, size_t len) {
  return aether_raw_cast(output, strlen(output), payload, len);
}

/* aether_cast of a NUL-terminated string (without its NUL). */
static inline int aether_cast_str(const char* output, const char* str) {
  return aether_cast(output, str, strlen(str));
}

/* Like aether_cast, delivered after `delay_ms` (at most 24 h). */
static inline int aether_delayed_cast(uint32_t delay_ms, const char* output, const void* payload,
                                      size_t len) {
  return aether_raw_delayed_cast(delay_ms, output, strlen(output), payload, len);
}

/* Sends `len` bytes to `output` and waits for the reply, at most `timeout_ms`
 * (0 = the instance's event timeout). On success returns 0 and, when `reply`
 * is not NULL, stores a malloc'd copy of the reply (NUL-terminated, the NUL
 * not counted in *reply_len) that the caller frees. On failure returns a
 * negative AETHER_E* code and sets *reply = NULL, *reply_len = 0. */
static inline int aether_call(const char* output, const void* payload, size_t len,
                              uint32_t timeout_ms, uint8_t** reply, size_t* reply_len) {
  if (reply) *reply = NULL;
  if (reply_len) *reply_len = 0;
  int32_t n = aether_raw_call(output, strlen(output), payload, len, timeout_ms);
  if (n < 0) return n;
  if (!reply) return AETHER_OK;
  uint8_t* buf = (uint8_t*)malloc((size_t)n + 1);
  if (!buf) return AETHER_ENOMEM;
  int32_t got = n > 0 ? aether_raw_call_reply(buf, (size_t)n) : 0;
  if (got < 0) got = 0;
  buf[got] = 0;
  *reply = buf;
  if (reply_len) *reply_len = (size_t)got;
  return AETHER_OK;
}

/* Writes a printf-formatted line to the engine log (rate-limited there). */
__attribute__((format(printf, 2, 3))) static inline void aether_log(int level, const char* fmt,
                                                                    ...) {
  char small[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n < sizeof small) {
    aether_raw_log(level, small, (size_t)n);
    return;
  }
  char* big = (char*)malloc((size_t)n + 1);
  if (!big) {
    aether_raw_log(level, small, sizeof small - 1); /* truncated rather than lost */
    return;
  }
  va_start(ap, fmt);
  vsnprintf(big, (size_t)n + 1, fmt, ap);
  va_end(ap);
  aether_raw_log(level, big, (size_t)n);
  free(big);
}

/* Records a named sample (the last value shows in the instance's status and
 * in the engine's /metrics as aether_workflow_telemetry). */
static inline void aether_telemetry(const char* name, double value) {
  aether_raw_telemetry(name, strlen(name), value);
}

/* ---- Replies for aether_on_call ---- */

/* The reply buffer owned by the SDK. The static local makes one per
 * translation unit, which is enough: a reply is made and returned within one
 * call, and each buffer is freed when the next reply of that TU is made. */
static inline uint8_t** aether_reply_slot_(void) {
  static uint8_t* slot;
  return &slot;
}

/* Takes ownership of `data` (from malloc) as the reply: freed by the SDK with
 * the next reply. */
static inline aether_bytes aether_reply_take(uint8_t* data, size_t len) {
  uint8_t** slot = aether_reply_slot_();
  if (*slot != data) free(*slot);
  *slot = data;
  aether_bytes b = {data, data ? len : 0};
  return b;
}

/* A copy of `len` bytes as the reply (the empty reply if out of memory). */
static inline aether_bytes aether_reply(const void* data, size_t len) {
  uint8_t* copy = (uint8_t*)malloc(len ? len : 1);
  if (!copy) return aether_reply_take(NULL, 0);
  if (len) memcpy(copy, data, len);
  return aether_reply_take(copy, len);
}

/* A copy of a NUL-terminated string (without the NUL) as the reply. */
static inline aether_bytes aether_reply_str(const char* str) {
  return aether_reply(str, strlen(str));
}

/* A printf-formatted reply. */
__attribute__((format(printf, 1, 2))) static inline aether_bytes aether_reply_printf(
    const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) return aether_reply_take(NULL, 0);
  uint8_t* buf = (uint8_t*)malloc((size_t)n + 1);
  if (!buf) return aether_reply_take(NULL, 0);
  va_start(ap, fmt);
  vsnprintf((char*)buf, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return aether_reply_take(buf, (size_t)n);
}

/* ---- The user's callbacks ---- */

void aether_on_init(const uint8_t* payload, size_t len);
void aether_on_cast(const char* src, size_t src_len, const uint8_t* payload, size_t len);
aether_bytes aether_on_call(const char* src, size_t src_len, const uint8_t* payload, size_t len);
void aether_on_stop(void);

/* ---- The exports (in the one TU that selects handlers) ---- */

#if defined(AETHER_HANDLE_INIT) || defined(AETHER_HANDLE_CAST) || defined(AETHER_HANDLE_CALL) || \
    defined(AETHER_HANDLE_STOP)

#define AETHER_EXPORT_(name) __attribute__((export_name(#name), visibility("default")))

/* Buffers for the engine to write a source or payload into: `size` bytes
 * plus a NUL the engine does not see. 0 = out of memory (the event fails). */
AETHER_EXPORT_(aether_alloc) void* aether_alloc(size_t size);
void* aether_alloc(size_t size) {
  if (size >= SIZE_MAX - 1) return NULL;
  uint8_t* p = (uint8_t*)malloc(size + 1);
  if (p) p[size] = 0;
  return p;
}

/* The engine passes (0, 0) for an absent buffer: give the callback "". */
static inline const uint8_t* aether_in_(uint32_t ptr) {
  return ptr ? (const uint8_t*)(uintptr_t)ptr : (const uint8_t*)"";
}
static inline void aether_free_in_(uint32_t ptr) { free((void*)(uintptr_t)ptr); }

#ifdef AETHER_HANDLE_INIT
AETHER_EXPORT_(handle_init) void aether_handle_init_(uint32_t ptr, uint32_t len);
void aether_handle_init_(uint32_t ptr, uint32_t len) {
  aether_on_init(aether_in_(ptr), len);
  aether_free_in_(ptr);
}
#endif

#ifdef AETHER_HANDLE_CAST
AETHER_EXPORT_(handle_cast)
void aether_handle_cast_(uint32_t src, uint32_t src_len, uint32_t ptr, uint32_t len);
void aether_handle_cast_(uint32_t src, uint32_t src_len, uint32_t ptr, uint32_t len) {
  aether_on_cast((const char*)aether_in_(src), src_len, aether_in_(ptr), len);
  aether_free_in_(src);
  aether_free_in_(ptr);
}
#endif

#ifdef AETHER_HANDLE_CALL
/* An input buffer the last reply pointed into: freed at the next call. */
static uint32_t aether_kept_in_[2];

/* Frees the input buffer at `ptr` unless the reply lies inside it. */
static inline void aether_release_in_(int i, uint32_t ptr, uint32_t len, aether_bytes r) {
  uintptr_t d = (uintptr_t)r.data;
  if (ptr && r.data && d >= ptr && d <= (uintptr_t)ptr + len) {
    aether_kept_in_[i] = ptr;
  } else {
    aether_free_in_(ptr);
  }
}

AETHER_EXPORT_(handle_call)
uint64_t aether_handle_call_(uint32_t src, uint32_t src_len, uint32_t ptr, uint32_t len);
uint64_t aether_handle_call_(uint32_t src, uint32_t src_len, uint32_t ptr, uint32_t len) {
  for (int i = 0; i < 2; ++i) {
    aether_free_in_(aether_kept_in_[i]);
    aether_kept_in_[i] = 0;
  }
  aether_bytes r = aether_on_call((const char*)aether_in_(src), src_len, aether_in_(ptr), len);
  aether_release_in_(0, src, src_len, r);
  aether_release_in_(1, ptr, len, r);
  if (!r.data || r.len == 0) return 0;
  return ((uint64_t)(uintptr_t)r.data << 32) | (uint64_t)(uint32_t)r.len;
}
#endif

#ifdef AETHER_HANDLE_STOP
AETHER_EXPORT_(handle_stop) void aether_handle_stop_(void);
void aether_handle_stop_(void) { aether_on_stop(); }
#endif

#undef AETHER_EXPORT_

#endif /* any AETHER_HANDLE_* */

#ifdef __cplusplus
}
#endif

#endif /* AETHER_SDK_AETHER_H */
