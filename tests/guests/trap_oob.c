/* trap_oob: loads from address 0xFFFFFFF0, far beyond the linear memory
 * (i32.load with a constant address): an out-of-bounds memory access trap. */
#include <stdio.h>

int main(void) {
  volatile int* p = (volatile int*)0xFFFFFFF0u;
  printf("%d\n", *p);
  return 0;
}
