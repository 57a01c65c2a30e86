/* escape: tries to leave the preopened directory "/data". It finds the
 * preopen's fd and calls path_open on it (openat, which wasi-libc passes to
 * the host unchanged) with "../etc/passwd" and with "/etc/passwd".
 * Prints "blocked" for each refusal, "escaped: <path>" for each success.
 * Exit: 0 if both were blocked, 1 if any escaped, 2 if "/data" is not preopened. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <wasi/api.h>

static int find_preopen(const char* want) {
  for (int fd = 3; fd < 64; fd++) {
    __wasi_prestat_t st;
    if (__wasi_fd_prestat_get(fd, &st) != 0) break; /* EBADF: no more preopens */
    if (st.tag != __WASI_PREOPENTYPE_DIR) continue;
    char name[256];
    size_t len = st.u.dir.pr_name_len;
    if (len >= sizeof name) continue;
    if (__wasi_fd_prestat_dir_name(fd, (uint8_t*)name, len) != 0) continue;
    name[len] = 0;
    if (strcmp(name, want) == 0) return fd;
  }
  return -1;
}

static int attempt(int dirfd, const char* path) {
  int fd = openat(dirfd, path, O_RDONLY);
  if (fd < 0) {
    puts("blocked");
    return 0;
  }
  printf("escaped: %s\n", path);
  close(fd);
  return 1;
}

int main(void) {
  int dirfd = find_preopen("/data");
  if (dirfd < 0) {
    fputs("escape: no preopened directory \"/data\"\n", stderr);
    return 2;
  }
  int escaped = attempt(dirfd, "../etc/passwd");
  escaped += attempt(dirfd, "/etc/passwd");
  return escaped ? 1 : 0;
}
