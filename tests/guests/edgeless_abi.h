// For the test guests that speak EDGELESS's guest ABI (edgeless_function's
// imports.rs and export.rs) without WASI or libc, like a no_std function
// built with EDGELESS's SDK: the env.*_asm imports (a module imports only
// those it uses) and the memcpy/memset that clang may turn loops into.
// Included by exactly one source file per module.
#pragma once

#include <stddef.h>
#include <stdint.h>

#define IMPORT(name) __attribute__((import_module("env"), import_name(#name)))
#define EXPORT(name) __attribute__((export_name(#name)))

IMPORT(cast_asm) void cast_asm(const char*, size_t, const char*, size_t);
IMPORT(cast_raw_asm) void cast_raw_asm(const uint8_t*, const uint8_t*, const char*, size_t);
IMPORT(call_asm) int call_asm(const char*, size_t, const char*, size_t, char**, size_t*);
IMPORT(call_raw_asm)
int call_raw_asm(const uint8_t*, const uint8_t*, const char*, size_t, char**, size_t*);
IMPORT(delayed_cast_asm) void delayed_cast_asm(uint64_t, const char*, size_t, const char*, size_t);
IMPORT(telemetry_log_asm) void telemetry_log_asm(size_t, const char*, size_t, const char*, size_t);
IMPORT(slf_asm) void slf_asm(uint8_t*, uint8_t*);
IMPORT(sync_asm) void sync_asm(const char*, uint32_t);

void* memcpy(void* dst, const void* src, size_t n) {
  volatile uint8_t* d = dst;
  const uint8_t* s = src;
  for (size_t i = 0; i < n; ++i) d[i] = s[i];
  return dst;
}
void* memset(void* dst, int c, size_t n) {
  volatile uint8_t* d = dst;
  for (size_t i = 0; i < n; ++i) d[i] = (uint8_t)c;
  return dst;
}
