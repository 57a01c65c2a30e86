/* json_input: prints {"got": <stdin>} with stdin copied verbatim (no parsing,
 * no trailing newline). Shows how a request's input reaches the guest:
 * input "abc" gives {"got": abc}, input {"a":1} gives {"got": {"a":1}}. */
#include <stdio.h>

int main(void) {
  char buf[4096];
  size_t n;
  fputs("{\"got\": ", stdout);
  while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) fwrite(buf, 1, n, stdout);
  fputs("}", stdout);
  return 0;
}
