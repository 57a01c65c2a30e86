;; Issue #9.1: wasm2c prints export names verbatim into C comments. This
;; name closes the comment and defines a constructor that aborts the process
;; that loads the module (the engine), guarded so that it compiles although
;; the name appears twice in the unit (header and source). The line after
;; the comment looks like a prototype so that the glue's header scan accepts
;; it. Before the fix, the optimized tier (gcc honours the constructor; tcc
;; 0.9.27 ignores it) killed the engine as soon as it was loaded. A safe
;; engine treats it as an odd export name and runs the module.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "ok\n")
  (func $start
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 3))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  (export "_start" (func $start))
  (export "x */\nvoid pwn_decl(void*);\n#ifndef PWN_ONCE\n#define PWN_ONCE\nvoid abort(void); void pwn_decl(void* p) { (void)p; } __attribute__((constructor)) static void pwn(void) { abort(); }\n#endif\n/* " (func $start)))
