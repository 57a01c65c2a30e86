/* fresh_write: system calls that write into pages of linear memory the
 * guest never touched (the engine makes a page writable at its first write,
 * and the kernel, unlike the guest's own stores, does not fault there: it
 * fails with EFAULT unless the host prepared the page). Fills a page-aligned
 * .bss buffer with getentropy(), then reads /data/in.txt into another one
 * with read() and the target of the symlink /data/link into a third with
 * readlink(); prints "random: 256 bytes, nonzero", "read: <text>" and
 * "link: <target>". Any
 * failure prints "fresh_write: <step>: <error>" to stderr and exits 1. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Each buffer alone in its pages: nothing else writes them first. */
static unsigned char random_page[4096] __attribute__((aligned(4096)));
static char read_pages[2 * 4096] __attribute__((aligned(4096)));
static char link_page[4096] __attribute__((aligned(4096)));

static int fail(const char* step) {
  fprintf(stderr, "fresh_write: %s: %s\n", step, strerror(errno));
  return 1;
}

int main(void) {
  if (getentropy(random_page + 100, 256) != 0) return fail("getentropy");
  int nonzero = 0;
  for (int i = 100; i < 356; i++) nonzero |= random_page[i];
  printf("random: 256 bytes, %s\n", nonzero ? "nonzero" : "all zero");
  int fd = open("/data/in.txt", O_RDONLY);
  if (fd < 0) return fail("open /data/in.txt");
  /* Across a page boundary: two untouched pages in one read. */
  ssize_t n = read(fd, read_pages + 4090, 100);
  if (n < 0) return fail("read /data/in.txt");
  close(fd);
  printf("read: %.*s\n", (int)n, read_pages + 4090);
  ssize_t k = readlink("/data/link", link_page + 1000, 200);
  if (k < 0) return fail("readlink /data/link");
  printf("link: %.*s\n", (int)k, link_page + 1000);
  return 0;
}
