// wasm-flags: -mexec-model=reactor
/* instance_init_trap: a reactor whose _initialize traps. */
__attribute__((constructor)) static void boom(void) { __builtin_trap(); }

__attribute__((export_name("noop"))) void noop(void) {}
