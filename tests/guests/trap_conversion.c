/* trap_conversion: a NaN converted to int with i32.trunc_f64_s, which traps
 * with "invalid conversion to integer". A C cast would not do: clang guards
 * it (a range check, then a saturated value) instead of trapping, so the
 * builtin names the instruction itself. */
#include <math.h>
#include <stdio.h>

int main(void) {
  volatile double value = NAN;
  printf("%d\n", __builtin_wasm_trunc_s_i32_f64(value));
  return 0;
}
