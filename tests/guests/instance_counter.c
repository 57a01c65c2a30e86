// wasm-flags: -mexec-model=reactor
/* instance_counter: a WASI reactor for long-lived instance tests. Its state
 * (a counter, heap blocks) lives in linear memory and must survive calls. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define EXPORT(name) __attribute__((export_name(name)))

static volatile int counter;
static int ctor_value;

/* Runs from _initialize: proves the engine called it. */
__attribute__((constructor)) static void init(void) { ctor_value = 42; }

EXPORT("incr") int incr(void) { return ++counter; }
EXPORT("ctor_ran") int ctor_ran(void) { return ctor_value; }
EXPORT("add") int add(int a, int b) { return a + b; }
EXPORT("wide") uint64_t wide(uint32_t hi, uint32_t lo) { return ((uint64_t)hi << 32) | lo; }
EXPORT("take64") uint64_t take64(uint64_t x) { return x + 1; }
EXPORT("noop") void noop(void) {}
EXPORT("crash") void crash(void) { __builtin_trap(); }
EXPORT("spin") void spin(void) {
  for (;;) counter++;
}
EXPORT("quit") void quit(void) { exit(3); }

/* Allocates `mib` MiB (kept forever) and touches every page; 1 on success. */
EXPORT("grow") int grow(int mib) {
  volatile unsigned char* p = malloc((size_t)mib << 20);
  if (!p) return 0;
  for (size_t i = 0; i < ((size_t)mib << 20); i += 4096) p[i] = 1;
  return 1;
}

EXPORT("alloc") int alloc(int size) { return (int)(intptr_t)malloc((size_t)size); }
EXPORT("sum") int sum(const unsigned char* p, int len) {
  int s = 0;
  for (int i = 0; i < len; ++i) s += p[i];
  return s;
}

EXPORT("say") void say(int n) {
  printf("hello %d\n", n);
  fflush(stdout);
  fprintf(stderr, "err %d\n", n);
}
