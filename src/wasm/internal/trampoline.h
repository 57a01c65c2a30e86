/* The guarded entry for typed calls into a long-lived instance. It is C so
 * that no C++ object can live in the frame aether_guard_jump skips over
 * (guard.h's rule); the job it reads lives in the caller's frame, outside. */
#ifndef AETHER_WASM_TRAMPOLINE_H_
#define AETHER_WASM_TRAMPOLINE_H_

#include <stdint.h>

#include "wasm/abi.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct aether_call_job {
  const aether_ctx_hdr* hdr; /* the instance's context header */
  aether_export_thunk thunk;
  const uint64_t* args;
  uint64_t result; /* written only when the thunk returns */
} aether_call_job;

/* An aether_guest_fn: runs job->thunk(instance, job->args, &job->result),
 * unless the deadline already passed (hdr->unwind set: the watchdog fired
 * before the guard was armed, when it cannot jump); then it returns at once
 * and the caller reports the unwind. */
void aether_call_trampoline(void* instance, void* job);

/* The same for a call made from inside one of the instance's own host
 * calls (Runtime::Reenter). The host call runs with hdr->in_host set, so
 * the watchdog defers a timeout instead of jumping; the nested guest code
 * must be interruptible, so this clears in_host once the nested guard is
 * the jump target, and sets it again when the export returns. A timeout
 * deferred before that is seen here and the export is not entered. */
typedef struct aether_reenter_job {
  aether_ctx_hdr* hdr;
  aether_export_thunk thunk;
  const uint64_t* args;
  uint64_t result;
} aether_reenter_job;

void aether_reenter_trampoline(void* instance, void* job);

#ifdef __cplusplus
}
#endif

#endif /* AETHER_WASM_TRAMPOLINE_H_ */
