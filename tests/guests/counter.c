/* counter: a global in linear memory, incremented once per run; prints it.
 * Linear memory is fresh for every execution, so this always prints "1". */
#include <stdio.h>

volatile int counter; /* in .bss: a load and a store, not a constant */

int main(void) {
  counter = counter + 1;
  printf("%d\n", counter);
  return 0;
}
