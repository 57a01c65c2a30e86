/* files: uses a preopened directory "/data" (for WASI filesystem tests).
 *   1. lists /data, sorted, one "entry: NAME" line each ("." and ".." skipped);
 *   2. reads /data/in.txt, prints "read in.txt: <N> bytes";
 *   3. writes /data/out.txt (created or truncated) with the contents of in.txt
 *      upper-cased (ASCII), prints "wrote out.txt: <N> bytes".
 * The first step that fails writes "files: <path>: <error>" to stderr and
 * exits with 1 (e.g. when no "/data" is preopened). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char* path) {
  fprintf(stderr, "files: %s: %s\n", path, strerror(errno));
  return 1;
}

static int by_name(const void* a, const void* b) {
  return strcmp(*(char* const*)a, *(char* const*)b);
}

int main(void) {
  DIR* dir = opendir("/data");
  if (!dir) return fail("/data");
  char* names[256];
  size_t count = 0;
  struct dirent* e;
  while ((e = readdir(dir)) != NULL && count < 256) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    names[count++] = strdup(e->d_name);
  }
  closedir(dir);
  qsort(names, count, sizeof names[0], by_name);
  for (size_t i = 0; i < count; i++) printf("entry: %s\n", names[i]);

  FILE* in = fopen("/data/in.txt", "rb");
  if (!in) return fail("/data/in.txt");
  static char data[1 << 16];
  size_t len = fread(data, 1, sizeof data, in);
  if (ferror(in)) return fail("/data/in.txt");
  fclose(in);
  printf("read in.txt: %zu bytes\n", len);

  for (size_t i = 0; i < len; i++)
    if (data[i] >= 'a' && data[i] <= 'z') data[i] = (char)(data[i] - 'a' + 'A');
  FILE* out = fopen("/data/out.txt", "wb");
  if (!out) return fail("/data/out.txt");
  if (fwrite(data, 1, len, out) != len || fclose(out) != 0) return fail("/data/out.txt");
  printf("wrote out.txt: %zu bytes\n", len);
  return 0;
}
