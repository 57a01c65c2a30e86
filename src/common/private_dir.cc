#include "common/private_dir.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace aether {

namespace fs = std::filesystem;

Status MakePrivateDir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Unavailable("cannot create the directory " + dir + ": " + ec.message());
  if (::chmod(dir.c_str(), 0700) != 0) {
    return Unavailable("cannot make the directory " + dir +
                       " private (mode 0700): " + std::strerror(errno));
  }
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    struct stat st {};
    std::string path = entry.path().string();
    if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) == 0) {
      continue;
    }
    if (::chmod(path.c_str(), 0600) != 0) {
      return Unavailable("cannot make " + path + " private (mode 0600): " + std::strerror(errno));
    }
  }
  if (ec) return Unavailable("cannot list the directory " + dir + ": " + ec.message());
  return OkStatus();
}

}  // namespace aether
