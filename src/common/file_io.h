// Whole files: reading (modules from functions_dir, fetched
// modules, the saved manifest, the node credential) and writing atomically.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>

#include "common/result.h"

namespace aether {

// Reads `path` into a std::string or std::vector<uint8_t>. NotFound when the
// file does not exist, Internal on other errors; both name the path.
template <typename Bytes>
Result<Bytes> ReadWholeFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    std::string message = "cannot read " + path + ": " + std::strerror(errno);
    return errno == ENOENT ? NotFound(message) : Internal(message);
  }
  Bytes data;
  struct stat st;
  if (::fstat(fd, &st) == 0 && st.st_size > 0) data.reserve(static_cast<size_t>(st.st_size));
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return Internal("cannot read " + path + ": " + std::strerror(err));
    }
    if (n == 0) break;
    data.insert(data.end(), buf, buf + n);
  }
  ::close(fd);
  return data;
}

// Writes all of `data` to `fd` (a file or a pipe), retrying short writes
// and EINTR. False on an error, with errno set.
bool WriteAll(int fd, std::string_view data);

// Writes `data` to `path` (mode 0600) through a temp file, fsync and
// rename: a reader sees the old file or the whole new one. Internal naming
// the path on failure. kNoSync skips the fsync, for caches whose reader
// checks what it reads (a crash may leave an empty or torn file) and that
// a request is waiting on: an fsync costs milliseconds to seconds.
enum class FileSync { kSync, kNoSync };
Status WriteFileAtomically(const std::string& path, std::string_view data,
                           FileSync sync = FileSync::kSync);

}  // namespace aether
