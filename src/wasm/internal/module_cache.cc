#include "wasm/internal/module_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/file_io.h"
#include "common/log.h"
#include "common/sha256.h"
#include "wasm/internal/worker_protocol.h"

namespace aether::wasm {
namespace {

constexpr off_t kMaxObjectBytes = 1ll << 30;
constexpr off_t kMaxSidecarBytes = 64ll << 20;

std::atomic<uint64_t> tmp_counter{0};

std::string Octal(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

Status MakeSafeDir(const std::string& dir) {
  std::error_code ec;
  if (std::filesystem::create_directories(dir, ec)) chmod(dir.c_str(), 0700);  // new: quietly
  struct stat st;
  if (lstat(dir.c_str(), &st) != 0) {
    return FailedPrecondition("the module cache " + dir +
                              " cannot be created: " + std::strerror(errno));
  }
  if (!S_ISDIR(st.st_mode)) {
    return FailedPrecondition("the module cache " + dir + " is not a directory");
  }
  if (st.st_uid != geteuid()) {
    return FailedPrecondition("the module cache " + dir + " belongs to uid " +
                              std::to_string(st.st_uid) +
                              ", not to this process's user; use a directory of its own");
  }
  if ((st.st_mode & 077) != 0) {
    if (chmod(dir.c_str(), 0700) != 0) {
      return FailedPrecondition("the module cache " + dir + " has mode " + Octal(st.st_mode) +
                                " and cannot be made 0700: " + std::strerror(errno));
    }
    LOG_WARN("module cache {} had mode {}; now 0700", dir, Octal(st.st_mode));
  }
  return OkStatus();
}

// Reads a whole regular file through `fd`, refusing anything this process
// did not write for itself.
Result<std::string> ReadOwnFile(int fd, const std::string& path, off_t max_bytes) {
  struct stat st;
  if (fstat(fd, &st) != 0) return Internal("cannot stat " + path);
  if (!S_ISREG(st.st_mode)) return FailedPrecondition(path + " is not a regular file");
  if (st.st_uid != geteuid()) {
    return FailedPrecondition(path + " belongs to uid " + std::to_string(st.st_uid));
  }
  if ((st.st_mode & 077) != 0) {
    return FailedPrecondition(path + " has mode " + Octal(st.st_mode) + ", not 0600");
  }
  if (st.st_nlink != 1) return FailedPrecondition(path + " has other hard links");
  if (st.st_size > max_bytes) return FailedPrecondition(path + " is too large");
  std::string data(static_cast<size_t>(st.st_size), '\0');
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = pread(fd, data.data() + off, data.size() - off, static_cast<off_t>(off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Internal("cannot read " + path);
    off += static_cast<size_t>(n);
  }
  return data;
}

Result<std::string> ReadOwnPath(const std::string& path, off_t max_bytes) {
  int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return NotFound(path);
  Result<std::string> r = ReadOwnFile(fd, path, max_bytes);
  close(fd);
  return r;
}

// `data` into `path` through a private temporary file and a rename; the
// file stays open in *kept when that is given. Not common/file_io.h's
// WriteFileAtomically: no fsync (a torn entry fails its digest and is
// compiled again), O_EXCL, and the descriptor kept for VerifiedObject.
Status WriteCacheFile(const std::string& path, const std::string& data, int* kept = nullptr) {
  std::string tmp =
      path + ".tmp." + std::to_string(getpid()) + "." + std::to_string(tmp_counter.fetch_add(1));
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return Internal("cannot write " + tmp + ": " + std::strerror(errno));
  if (!aether::WriteAll(fd, data) || rename(tmp.c_str(), path.c_str()) != 0) {
    int saved = errno;
    close(fd);
    unlink(tmp.c_str());
    return Internal("cannot write " + path + ": " + std::strerror(saved));
  }
  if (kept != nullptr) {
    *kept = fd;
  } else {
    close(fd);
  }
  return OkStatus();
}

// Opens `path` and checks its bytes against `so_sha256`.
Result<VerifiedObject> OpenVerified(const std::string& path, const std::string& so_sha256,
                                    ModuleInfo info) {
  int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return NotFound(path + ": " + std::strerror(errno));
  VerifiedObject object(fd, path, std::move(info));
  ASSIGN_OR_RETURN(std::string bytes, ReadOwnFile(fd, path, kMaxObjectBytes));
  if (Sha256Hex(bytes) != so_sha256) {
    return FailedPrecondition(path + " does not match the digest recorded when it was compiled");
  }
  return object;
}

}  // namespace

VerifiedObject::~VerifiedObject() {
  if (fd_ >= 0) close(fd_);
}

Status VerifiedObject::SamePathStill() const {
  struct stat a, b;
  if (fstat(fd_, &a) != 0 || lstat(path_.c_str(), &b) != 0 || a.st_dev != b.st_dev ||
      a.st_ino != b.st_ino) {
    return FailedPrecondition(path_ + " was replaced after it was verified");
  }
  return OkStatus();
}

ModuleCache::ModuleCache(std::string dir) : dir_(std::move(dir)) {
  ready_ = MakeSafeDir(dir_);
  if (ready_.ok()) ready_ = MakeSafeDir(jobs_dir());
}

std::optional<VerifiedObject> ModuleCache::Find(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return std::nullopt;
  Result<VerifiedObject> object = [&]() -> Result<VerifiedObject> {
    ASSIGN_OR_RETURN(std::string data, ReadOwnPath(path + ".info", kMaxSidecarBytes));
    ASSIGN_OR_RETURN(Sidecar sidecar, DecodeSidecar(data));
    return OpenVerified(path, sidecar.so_sha256, std::move(sidecar.info));
  }();
  if (object.ok()) {
    // Used now: the sidecar's mtime orders the cache's trimming (cache_trimmer.h).
    utimensat(AT_FDCWD, (path + ".info").c_str(), nullptr, 0);
    return std::move(*object);
  }
  LOG_WARN("discarding cached module {}: {}", path, object.status().message());
  unlink(path.c_str());
  unlink((path + ".info").c_str());
  return std::nullopt;
}

Result<VerifiedObject> ModuleCache::Publish(const std::string& job_object, const std::string& path,
                                            const ModuleInfo& info) {
  int fd = open(job_object.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return Internal("the compiler produced no object: " + std::string(std::strerror(errno)));
  // The compiler process may still be exiting (sandbox.cc kills it after
  // its answer and reaps it off the path), and it can write in its job
  // directory: the object is read once and written anew by the engine, so
  // nothing it does from now on reaches the cache. Private before judged.
  fchmod(fd, 0600);
  Result<std::string> bytes = ReadOwnFile(fd, job_object, kMaxObjectBytes);
  close(fd);
  if (!bytes.ok()) return Internal("the compiled object is unusable: " + bytes.status().message());
  std::string digest = Sha256Hex(*bytes);
  RETURN_IF_ERROR(WriteCacheFile(path + ".info", EncodeSidecar(info, digest)));
  int copy = -1;
  Status written = WriteCacheFile(path, *bytes, &copy);
  if (!written.ok()) {
    return Internal("cannot write the module cache " + dir_ + ": " + written.message());
  }
  // The bytes just hashed, in a file only the engine wrote: no second read.
  // Make() checks with SamePathStill that `path` still names this file.
  return VerifiedObject(copy, path, info);
}

}  // namespace aether::wasm
