/* trap_div_zero: integer division by a divisor read from stdin (default 0),
 * so clang cannot fold it: emits i32.div_s, which traps on 0.
 * With a non-zero divisor it prints 100 / divisor. */
#include <stdio.h>
#include <stdlib.h>

int main(void) {
  char buf[64];
  size_t len = fread(buf, 1, sizeof buf - 1, stdin);
  buf[len] = 0;
  volatile int divisor = (int)strtol(buf, NULL, 10);
  volatile int dividend = 100;
  printf("%d\n", dividend / divisor);
  return 0;
}
