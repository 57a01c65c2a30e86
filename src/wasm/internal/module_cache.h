// The on-disk cache of compiled modules: <dir>/<sha256>.<key>.<tier>.so
// beside a sidecar (.info) that holds the module description and the
// sha256 of the shared object. An object is loaded only when it is the one
// we produced: owned by this user, mode 0600, not hard-linked elsewhere, its
// bytes matching the digest recorded when it was compiled. The directory
// is 0700 and must not be writable by anyone else.
//
// Thread-safety: every method from any thread; files are published by
// rename, so readers never see a partial file.
#pragma once

#include <optional>
#include <string>

#include "common/result.h"
#include "wasm/module_info.h"

namespace aether::wasm {

// An opened, verified shared object.
//
// dlopen takes a path, and glibc returns an already loaded object whose
// name matches without opening the file again, so a /proc/self/fd/N path
// (N is reused) cannot name it; the cache path does, and SamePathStill()
// checks, right before dlopen, that it still names the file that was
// verified (replacing it needs write access to the 0700 cache dir).
class VerifiedObject {
 public:
  VerifiedObject(int fd, std::string path, ModuleInfo info)
      : fd_(fd), path_(std::move(path)), info_(std::move(info)) {}
  VerifiedObject(VerifiedObject&& o) noexcept
      : fd_(o.fd_), path_(std::move(o.path_)), info_(std::move(o.info_)) {
    o.fd_ = -1;
  }
  VerifiedObject& operator=(VerifiedObject&&) = delete;
  ~VerifiedObject();
  const std::string& path() const { return path_; }
  // FailedPrecondition when the file at path() is not the verified one.
  Status SamePathStill() const;
  const ModuleInfo& info() const { return info_; }
  ModuleInfo& info() { return info_; }

 private:
  int fd_;
  std::string path_;
  ModuleInfo info_;
};

class ModuleCache {
 public:
  explicit ModuleCache(std::string dir);

  // Creates the directory (0700) or tightens it when it is ours and open
  // to others. FailedPrecondition naming the directory when it belongs to
  // someone else or cannot be made safe; every call repeats the check's
  // verdict, so a bad cache dir fails each load with the reason.
  Status Ready() const { return ready_; }

  const std::string& dir() const { return dir_; }
  std::string jobs_dir() const { return dir_ + "/jobs"; }

  // nullopt when `path` is not cached, or is cached but unusable (no or
  // bad sidecar, wrong owner or mode, digest mismatch): such an entry is
  // removed with a warning, so it is compiled again. An entry found is
  // marked used (its sidecar's mtime), which CacheTrimmer orders by.
  std::optional<VerifiedObject> Find(const std::string& path);

  // Copies the object a compile job wrote (`job_object`) to `path` (a file
  // of the engine's own: the job's process may not have exited yet),
  // records its digest in the sidecar, and returns it opened and verified.
  Result<VerifiedObject> Publish(const std::string& job_object, const std::string& path,
                                 const ModuleInfo& info);

 private:
  std::string dir_;
  Status ready_;
};

}  // namespace aether::wasm
