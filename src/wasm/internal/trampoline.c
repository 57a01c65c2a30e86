#include "wasm/internal/trampoline.h"

void aether_call_trampoline(void* instance, void* job) {
  aether_call_job* j = (aether_call_job*)job;
  if (j->hdr->unwind != AETHER_UNWIND_NONE) return;
  j->thunk(instance, j->args, &j->result);
}

void aether_reenter_trampoline(void* instance, void* job) {
  aether_reenter_job* j = (aether_reenter_job*)job;
  j->hdr->in_host = 0;
  if (j->hdr->unwind != AETHER_UNWIND_NONE) {
    j->hdr->in_host = 1;
    return;
  }
  j->thunk(instance, j->args, &j->result);
  j->hdr->in_host = 1;
}
