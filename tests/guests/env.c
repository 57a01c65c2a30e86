/* env: prints the environment variable GREETING and argv[0], one per line:
 *   GREETING=<value>      ("GREETING unset" when it is not set)
 *   argv0=<argv[0]>       ("argv0 unset" when argc is 0) */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv) {
  const char* greeting = getenv("GREETING");
  if (greeting)
    printf("GREETING=%s\n", greeting);
  else
    puts("GREETING unset");
  if (argc > 0)
    printf("argv0=%s\n", argv[0]);
  else
    puts("argv0 unset");
  return 0;
}
