// A file descriptor closed when it goes out of scope, so that every early
// return of a function that opened it closes it too.
#pragma once

#include <unistd.h>

namespace aether {

class UniqueFd {
 public:
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }
  // Closes it now (before the scope ends: a pipe's writer ends the stream).
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

}  // namespace aether
