// The engine's disk copy of what the control plane told it to serve, so a
// restarted engine serves it again before (or without) the control plane:
//   <data_dir>/modules/<sha256>.wasm   modules fetched from the control plane
//   <data_dir>/manifest.json           the last manifest received
// Every file is written to a temp file, fsynced and renamed over the old one;
// files are mode 0600 and modules/ is 0700 (a module may embed secrets).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace aether::engine {

// Thread-safety: any thread; concurrent writes of one sha256 are harmless
// (same bytes, atomic rename).
class ModuleStore {
 public:
  // Creates <data_dir>/modules and makes it private (MakePrivateDir).
  // Errors: PermissionDenied when it cannot.
  static Result<std::unique_ptr<ModuleStore>> Open(const std::string& data_dir);

  // The module's bytes, checked against `sha256`. NotFound when absent; a
  // file whose contents do not match (disk corruption) is removed and
  // reported as NotFound too, so the caller fetches it again.
  Result<std::vector<uint8_t>> Read(const std::string& sha256) const;
  // Errors: Internal (disk full, permissions).
  Status Write(const std::string& sha256, std::span<const uint8_t> bytes) const;

  using Fetch = std::function<Result<std::vector<uint8_t>>(const std::string& sha256)>;
  // Read(), else `fetch` + verify + Write(). A write failure is logged, not
  // returned: the bytes are good, only the restart copy is missing.
  // Errors: fetch's; Internal "sha256 mismatch" when the fetched bytes are
  // not what was asked for (they are not stored).
  Result<std::vector<uint8_t>> GetOrFetch(const std::string& sha256, const Fetch& fetch) const;

  // Removes every module file not named in `keep`.
  void Retain(const std::set<std::string>& keep) const;
  size_t module_count() const;

  // The last manifest written; NotFound before the first.
  Result<std::string> ReadManifest() const;
  Status WriteManifest(std::string_view json) const;

 private:
  explicit ModuleStore(std::string data_dir);
  std::string ModulePath(const std::string& sha256) const;

  const std::string data_dir_;
  const std::string modules_dir_;
};

}  // namespace aether::engine
