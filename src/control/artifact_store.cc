#include "control/artifact_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "common/log.h"
#include "common/private_dir.h"
#include "protocol/ids.h"

namespace aether::control {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kSuffix = ".wasm";
constexpr std::string_view kTempPrefix = ".tmp-";

// <sha256>.wasm
bool IsArtifactName(std::string_view name) {
  return name.ends_with(kSuffix) &&
         protocol::IsSha256Hex(name.substr(0, name.size() - kSuffix.size()));
}

// Errors that reach API clients carry no path (see the header); the log
// gets the detail.
Status IoError(std::string_view what, const std::string& path, int err) {
  LOG_ERROR("artifact store: {} {}: {}", what, path, std::strerror(err));
  return Internal("cannot " + std::string(what) + " the module artifact: " + std::strerror(err));
}

Status FsyncPath(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return IoError("open", path, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return IoError("fsync", path, err);
  return OkStatus();
}

Status WriteAll(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("write", path, errno);
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return OkStatus();
}

}  // namespace

Result<std::unique_ptr<ArtifactStore>> ArtifactStore::Open(std::string dir) {
  // Modules may embed secrets: only our user reads them (0700 / 0600).
  if (Status st = MakePrivateDir(dir); !st.ok()) {
    return Unavailable("artifact store: " + st.message());
  }
  std::error_code ec;
  size_t count = 0;
  // A crash between write and rename leaves a temporary; nothing refers to it.
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.starts_with(kTempPrefix)) {
      fs::remove(entry.path(), ec);
    } else if (IsArtifactName(name)) {
      ++count;
    }
  }
  return std::unique_ptr<ArtifactStore>(new ArtifactStore(std::move(dir), count));
}

std::string ArtifactStore::PathOf(const std::string& sha256) const {
  return dir_ + "/" + sha256 + std::string(kSuffix);
}

Status ArtifactStore::Write(const std::string& sha256, std::string_view bytes) {
  if (!protocol::IsSha256Hex(sha256)) return InvalidArgument("bad artifact digest");
  std::lock_guard lock(mu_);
  ++pins_[sha256];
  auto unpin_on_error = [&](Status st) {
    if (--pins_[sha256] == 0) pins_.erase(sha256);
    return st;
  };
  std::string path = PathOf(sha256);
  std::error_code ec;
  if (fs::exists(path, ec)) {
    // Content-addressed: same name, same bytes. Younger again, so that a
    // collection does not take what a deploy is about to refer to.
    fs::last_write_time(path, fs::file_time_type::clock::now(), ec);
    fresh_.erase(sha256);  // another deploy needs them now: never discarded
    return OkStatus();
  }

  static std::atomic<uint64_t> counter{0};
  std::string tmp = dir_ + "/" + std::string(kTempPrefix) + sha256 + "-" +
                    std::to_string(::getpid()) + "-" + std::to_string(counter++);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return unpin_on_error(IoError("create", tmp, errno));
  Status st = WriteAll(fd, bytes, tmp);
  if (st.ok() && ::fsync(fd) != 0) st = IoError("fsync", tmp, errno);
  if (::close(fd) != 0 && st.ok()) st = IoError("close", tmp, errno);
  if (st.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) st = IoError("rename", tmp, errno);
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return unpin_on_error(st);
  }
  ++count_;
  // The rename is durable only once the directory entry is.
  if (Status dst = FsyncPath(dir_, O_RDONLY | O_DIRECTORY); !dst.ok()) return unpin_on_error(dst);
  fresh_.insert(sha256);
  return OkStatus();
}

void ArtifactStore::Unpin(const std::string& sha256) {
  std::lock_guard lock(mu_);
  fresh_.erase(sha256);
  auto it = pins_.find(sha256);
  if (it != pins_.end() && --it->second == 0) pins_.erase(it);
}

void ArtifactStore::Discard(const std::string& sha256) {
  std::lock_guard lock(mu_);
  auto it = pins_.find(sha256);
  if (it != pins_.end() && --it->second == 0) pins_.erase(it);
  if (fresh_.erase(sha256) == 0 || pins_.contains(sha256)) return;
  std::string path = PathOf(sha256);
  if (::unlink(path.c_str()) == 0) {
    --count_;
  } else if (errno != ENOENT) {
    // A collection removes it later (it is referenced by nothing).
    LOG_WARN("artifact store: cannot remove the refused module {}: {}", path, std::strerror(errno));
  }
}

Result<std::string> ArtifactStore::Read(const std::string& sha256) const {
  if (!protocol::IsSha256Hex(sha256)) return NotFound("unknown artifact");
  std::string path = PathOf(sha256);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return NotFound("no artifact " + sha256);
    return IoError("open", path, errno);
  }
  std::string out;
  char buf[1 << 16];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return IoError("read", path, err);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

bool ArtifactStore::Contains(const std::string& sha256) const {
  std::error_code ec;
  return protocol::IsSha256Hex(sha256) && fs::exists(PathOf(sha256), ec);
}

size_t ArtifactStore::Count() const {
  std::lock_guard lock(mu_);
  return count_;
}

Result<size_t> ArtifactStore::CollectGarbage(
    const std::function<Result<std::set<std::string>>()>& list, std::chrono::seconds min_age) {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(std::set<std::string> referenced, list());
  std::error_code ec;
  size_t removed = 0;
  const auto cutoff = fs::file_time_type::clock::now() - min_age;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    std::string name = entry.path().filename().string();
    if (!name.ends_with(kSuffix)) continue;
    std::string sha = name.substr(0, name.size() - kSuffix.size());
    if (!protocol::IsSha256Hex(sha) || referenced.count(sha) || pins_.count(sha)) continue;
    std::error_code age_ec;
    if (min_age.count() > 0 && entry.last_write_time(age_ec) > cutoff) continue;
    if (fs::remove(entry.path(), ec)) ++removed;
  }
  count_ -= std::min(count_, removed);
  if (ec) return IoError("list", dir_, ec.value());
  return removed;
}

}  // namespace aether::control
