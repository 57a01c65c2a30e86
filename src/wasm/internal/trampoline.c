#include "wasm/internal/trampoline.h"

void aether_call_trampoline(void* instance, void* job) {
  aether_call_job* j = (aether_call_job*)job;
  if (j->hdr->unwind != AETHER_UNWIND_NONE) return;
  j->thunk(instance, j->args, &j->result);
}
