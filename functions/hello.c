/* hello: greets the input.
 *   input "world"  -> output "Hello, world!"
 *   input "" or no input -> "Hello, World!"
 * The name is the input with surrounding whitespace removed, at most 256
 * bytes. An object or array input is an error (stderr, exit 1). */
#include <stdio.h>

#define MAX_NAME 256

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

int main(void) {
  char buf[MAX_NAME + 2];
  size_t len = fread(buf, 1, sizeof buf - 1, stdin);
  if (len > MAX_NAME) {
    fprintf(stderr, "hello: name longer than %d bytes\n", MAX_NAME);
    return 1;
  }
  size_t start = 0;
  while (start < len && is_space(buf[start])) start++;
  while (len > start && is_space(buf[len - 1])) len--;
  const char* name = buf + start;
  size_t name_len = len - start;
  if (name_len == 0) {
    name = "World";
    name_len = 5;
  } else if (name[0] == '{' || name[0] == '[') {
    fputs("hello: input must be a name (a JSON string), not an object or array\n", stderr);
    return 1;
  }
  printf("Hello, %.*s!", (int)name_len, name);
  return 0;
}
