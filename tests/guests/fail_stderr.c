/* fail_stderr: writes "something went wrong\n" to stderr and exits with 3. */
#include <stdio.h>

int main(void) {
  fputs("something went wrong\n", stderr);
  return 3;
}
