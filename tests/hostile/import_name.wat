;; Issue #9.1: a hostile import name. Refused before anything is compiled:
;; Aether provides no such import, and the message names it.
(module
  (import "env */ __attribute__((constructor)) static void pwn(void) { } /* " "f" (func))
  (memory (export "memory") 1)
  (func (export "_start")))
