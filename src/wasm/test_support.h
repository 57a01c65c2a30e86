// Helpers for sandbox tests: read guests, run code on a GuestThread.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "wasm/guest_thread.h"

namespace aether::wasm::testing {

inline std::vector<uint8_t> ReadGuest(const std::string& name) {
  std::ifstream in(std::string(AETHER_GUEST_DIR) + "/" + name + ".wasm", std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A crafted module from tests/hostile/, assembled by wat2wasm at build time.
inline std::vector<uint8_t> ReadHostile(const std::string& name) {
  std::ifstream in(std::string(AETHER_HOSTILE_DIR) + "/" + name + ".wasm", std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The text of a small file, "" when it cannot be read whole: for
// /proc/<pid>/ files of processes that may exit meanwhile (libstdc++'s
// ifstream throws when a read fails, as one of /proc/<pid>/stat does once
// the process is gone).
inline std::string ReadProcFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  std::string out;
  char buf[4096];
  ssize_t n = 0;
  while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return n < 0 ? "" : out;
}

// Guests must run on a GuestThread (its guard page turns deep recursion
// into a trap); gtest assertions inside `fn` work as usual.
inline void OnGuestThread(const std::function<void()>& fn) {
  GuestThread t(fn);
  t.Join();
}

}  // namespace aether::wasm::testing
