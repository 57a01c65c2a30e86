/* sock_stdio: what a guest sees of stdin/stdout when they are host sockets.
 * Prints, one per line:
 *   filetype <fd 1's filetype from fd_fdstat_get>
 *   shutdown <errno of sock_shutdown(1, WR)>
 *   shutdown0 <errno of sock_shutdown(0, RD|WR)>
 *   recv <errno of sock_recv(0)>
 *   send <errno of sock_send(1)>
 *   accept <errno of sock_accept(0)>
 *   read <what it then reads from stdin>
 * Each line is written with its own write(2), after the shutdown attempts:
 * if they had reached the host's socket, these writes would fail. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <wasi/api.h>

static void say(const char* what, unsigned value) {
  char line[64];
  int n = snprintf(line, sizeof line, "%s %u\n", what, value);
  write(1, line, (size_t)n);
}

int main(void) {
  __wasi_fdstat_t st;
  say("filetype", __wasi_fd_fdstat_get(1, &st) == 0 ? st.fs_filetype : 999);
  say("shutdown", __wasi_sock_shutdown(1, __WASI_SDFLAGS_WR));
  say("shutdown0", __wasi_sock_shutdown(0, __WASI_SDFLAGS_RD | __WASI_SDFLAGS_WR));
  char buf[32];
  __wasi_iovec_t riov = {(uint8_t*)buf, sizeof buf};
  __wasi_size_t n = 0;
  __wasi_roflags_t roflags = 0;
  say("recv", __wasi_sock_recv(0, &riov, 1, 0, &n, &roflags));
  __wasi_ciovec_t siov = {(const uint8_t*)"x", 1};
  say("send", __wasi_sock_send(1, &siov, 1, 0, &n));
  __wasi_fd_t fd = 0;
  say("accept", __wasi_sock_accept(0, 0, &fd));
  ssize_t got = read(0, buf, sizeof buf - 1);
  buf[got > 0 ? got : 0] = 0;
  write(1, "read ", 5);
  write(1, buf, strlen(buf));
  write(1, "\n", 1);
  return 0;
}
