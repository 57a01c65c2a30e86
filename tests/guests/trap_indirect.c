/* trap_indirect: calls a function of type (i32) -> i32 through a pointer of
 * type (f64, f64) -> f64. The pointer is read from a volatile, so clang emits
 * call_indirect with the caller's signature; the table entry's signature
 * differs, so the call traps (indirect call signature mismatch). */
#include <stdio.h>

static int add_one(int x) { return x + 1; }

typedef double (*wrong_fn)(double, double);
static volatile wrong_fn target;

int main(void) {
  target = (wrong_fn)(void*)add_one;
  printf("%f\n", target(1.0, 2.0));
  return 0;
}
