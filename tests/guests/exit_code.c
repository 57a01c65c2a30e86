/* exit_code: reads an integer from stdin and exits with it (proc_exit).
 * Empty or non-numeric input exits with 0. */
#include <stdio.h>
#include <stdlib.h>

int main(void) {
  char buf[64];
  size_t len = fread(buf, 1, sizeof buf - 1, stdin);
  buf[len] = 0;
  exit((int)strtol(buf, NULL, 10));
}
