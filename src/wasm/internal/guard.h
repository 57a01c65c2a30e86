/* The one place that uses sigsetjmp/siglongjmp. No C++ object lives in a
 * frame between aether_guard_call and a jump back to it: the frames in
 * between are generated guest code, the C glue, and runtime entry points
 * that hold only trivially destructible locals. */
#ifndef AETHER_WASM_GUARD_H_
#define AETHER_WASM_GUARD_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef void (*aether_guest_fn)(void* instance, void* ctx);

/* Calls fn(instance, ctx) under a jump target for this thread. Returns 0 if
 * fn returned normally, or the nonzero code passed to aether_guard_jump. */
int aether_guard_call(aether_guest_fn fn, void* instance, void* ctx);

/* Jumps back to the innermost aether_guard_call of this thread. Safe from a
 * signal handler (handlers run with SA_NODEFER, so no signal stays blocked). */
__attribute__((noreturn)) void aether_guard_jump(int code);

/* Whether this thread is inside aether_guard_call. */
int aether_guard_active(void);

#ifdef __cplusplus
}
#endif

#endif /* AETHER_WASM_GUARD_H_ */
