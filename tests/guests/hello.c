/* hello: ignores its input and prints "Hello, World!\n". */
#include <stdio.h>

int main(void) {
  fputs("Hello, World!\n", stdout);
  return 0;
}
