/* The C ABI between a compiled guest module (.so) and the Aether runtime.
 *
 * wasm2c output is compiled together with a generated glue file (see
 * src/wasm/glue.cc) that defines every wasm_rt_* function and every imported
 * host function as a thin forwarder through the tables below. A compiled
 * module therefore has no undefined symbols besides libc/libm, so the same
 * object loads under tcc and gcc and does not depend on -rdynamic.
 *
 * Host functions receive the execution context (`void* ctx`, which starts
 * with an aether_ctx_hdr) as their first argument, followed by the wasm
 * parameters as u32/u64/f32/f64. A host function never longjmps: to end the
 * execution (proc_exit, a deferred timeout, a host-side trap) it sets
 * `hdr->unwind` and returns; the glue then calls api->unwind(ctx).
 */
#ifndef AETHER_WASM_ABI_H_
#define AETHER_WASM_ABI_H_

#include <stdint.h>

/* 2: modules export aether_export_fn (typed exports through thunks). */
#define AETHER_ABI_VERSION 2

/* Values of aether_ctx_hdr.unwind. */
#define AETHER_UNWIND_NONE 0
#define AETHER_UNWIND_EXIT 1    /* proc_exit: a normal end with an exit code */
#define AETHER_UNWIND_TIMEOUT 2 /* the deadline passed during a host call */
#define AETHER_UNWIND_TRAP 3    /* a host function reports a trap (e.g. bad ABI use) */

#ifdef __cplusplus
extern "C" {
#endif

typedef struct aether_ctx_hdr {
  /* Set by host functions or by the watchdog; read by the glue after every
   * host call. */
  volatile uint32_t unwind;
  /* Nonzero while a host function runs: the timeout watchdog then defers
   * the interruption to the unwind check instead of jumping out. */
  volatile uint32_t in_host;
  /* Lowest stack address a host call may start at; below it the glue traps
   * with stack exhaustion so host code always has stack to run on. */
  uintptr_t stack_floor;
} aether_ctx_hdr;

struct wasm_rt_memory_t_;

/* An exported wasm function behind one uniform C type, so the runtime calls
 * any supported signature without a mismatched function-pointer cast.
 * A compiled module provides
 *   aether_export_thunk aether_export_fn(const char* name, const char* sig);
 * which returns the export `name` if its signature is exactly `sig`
 * (host.h notation; only i32/i64 parameters and an optional i32/i64
 * result: "v:", "v:ii", "i:i", "I:iiii", ...), or NULL. The thunk reads
 * args[i] for parameter i (an i32 takes the low 32 bits) and stores the
 * result zero-extended in *result (0 for "v:"). Like every guest entry, it
 * must run under aether_guard_call. */
typedef void (*aether_export_thunk)(void* instance, const uint64_t* args, uint64_t* result);

typedef struct aether_rt_api {
  uint32_t abi_version;
  void* self; /* the runtime object, passed back to register_func_type */
  uint32_t (*register_func_type)(void* self, uint32_t params, uint32_t results,
                                 const uint32_t* types);
  void (*trap)(uint32_t trap_kind) __attribute__((noreturn));
  void (*unwind)(void* ctx) __attribute__((noreturn));
  void (*allocate_memory)(void* memory, uint32_t initial_pages, uint32_t max_pages);
  uint32_t (*grow_memory)(void* memory, uint32_t delta_pages);
  void (*free_memory)(void* memory);
  void (*allocate_funcref_table)(void* table, uint32_t elements, uint32_t max_elements);
  void (*free_funcref_table)(void* table);
  uint32_t (*grow_funcref_table)(void* table, uint32_t delta, const void* init);
  void (*allocate_externref_table)(void* table, uint32_t elements, uint32_t max_elements);
  void (*free_externref_table)(void* table);
  uint32_t (*grow_externref_table)(void* table, uint32_t delta, void* init);
} aether_rt_api;

#ifdef __cplusplus
}
#endif

#endif /* AETHER_WASM_ABI_H_ */
