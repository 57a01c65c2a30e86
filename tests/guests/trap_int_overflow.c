/* trap_int_overflow: INT_MIN / -1, the one signed division whose result does
 * not fit, with operands clang cannot fold (volatile): emits i32.div_s, which
 * traps with "integer overflow". */
#include <limits.h>
#include <stdio.h>

int main(void) {
  volatile int dividend = INT_MIN;
  volatile int divisor = -1;
  printf("%d\n", dividend / divisor);
  return 0;
}
