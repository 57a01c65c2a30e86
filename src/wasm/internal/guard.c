#include "wasm/internal/guard.h"

#include <setjmp.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

/* Thread-local because every thread runs its own guest; required by the
 * signal handlers, the one kind of global state CONVENTIONS.md allows. */
static __thread sigjmp_buf* tls_target;

int aether_guard_call(aether_guest_fn fn, void* instance, void* ctx) {
  sigjmp_buf target;
  sigjmp_buf* volatile saved = tls_target;
  /* savemask = 0: saving the mask costs a syscall per call, and the
   * handlers that jump here run with SA_NODEFER so no mask needs restoring. */
  int code = sigsetjmp(target, 0);
  if (code == 0) {
    tls_target = &target;
    fn(instance, ctx);
  }
  tls_target = saved;
  return code;
}

void aether_guard_jump(int code) {
  if (tls_target == NULL) {
    /* A trap with no guarded call to return to is a bug in the runtime,
     * not a guest's doing: stop loudly instead of jumping through NULL. */
    static const char msg[] = "aether: trap outside a guarded call (runtime bug); aborting\n";
    (void)!write(2, msg, sizeof msg - 1);
    abort();
  }
  siglongjmp(*tls_target, code == 0 ? 1 : code);
}

int aether_guard_active(void) { return tls_target != NULL; }
