#include "engine/module_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "common/file_io.h"
#include "common/log.h"
#include "common/private_dir.h"
#include "common/sha256.h"
#include "protocol/ids.h"

namespace aether::engine {
namespace {

namespace fs = std::filesystem;

std::string_view AsText(std::span<const uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

}  // namespace

ModuleStore::ModuleStore(std::string data_dir)
    : data_dir_(std::move(data_dir)), modules_dir_(data_dir_ + "/modules") {}

Result<std::unique_ptr<ModuleStore>> ModuleStore::Open(const std::string& data_dir) {
  std::unique_ptr<ModuleStore> store(new ModuleStore(data_dir));
  // Modules may embed secrets: only our user reads them (0700 / 0600).
  if (Status st = MakePrivateDir(store->modules_dir_); !st.ok()) {
    return PermissionDenied("module store: " + st.message());
  }
  std::error_code ec;
  // Leftovers of writes cut short by a crash.
  for (const auto& e : fs::directory_iterator(store->modules_dir_, ec)) {
    if (e.path().filename().string().find(".tmp.") != std::string::npos) fs::remove(e.path(), ec);
  }
  return store;
}

std::string ModuleStore::ModulePath(const std::string& sha256) const {
  return modules_dir_ + "/" + sha256 + ".wasm";
}

Result<std::vector<uint8_t>> ModuleStore::Read(const std::string& sha256) const {
  if (!protocol::IsSha256Hex(sha256)) return InvalidArgument("not a sha256: " + sha256);
  std::string path = ModulePath(sha256);
  ASSIGN_OR_RETURN(std::vector<uint8_t> data, ReadWholeFile<std::vector<uint8_t>>(path));
  if (Sha256Hex(data) != sha256) {
    LOG_WARN("module {} is corrupt (its sha256 does not match its name); removing it", path);
    ::unlink(path.c_str());
    return NotFound(path + " was corrupt");
  }
  return data;
}

Status ModuleStore::Write(const std::string& sha256, std::span<const uint8_t> bytes) const {
  if (!protocol::IsSha256Hex(sha256)) return InvalidArgument("not a sha256: " + sha256);
  // No fsync: Read() checks the sha256, so a file a crash left torn is
  // fetched again, and a request may be waiting for this module.
  return WriteFileAtomically(ModulePath(sha256), AsText(bytes), FileSync::kNoSync);
}

Result<std::vector<uint8_t>> ModuleStore::GetOrFetch(const std::string& sha256,
                                                     const Fetch& fetch) const {
  Result<std::vector<uint8_t>> cached = Read(sha256);
  if (cached.ok() || cached.status().code() != Code::kNotFound) return cached;
  ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, fetch(sha256));
  std::string got = Sha256Hex(bytes);
  if (got != sha256) {
    return Internal("sha256 mismatch: module " + sha256.substr(0, 12) +
                    " fetched from the control plane hashes to " + got.substr(0, 12) +
                    "; not using it");
  }
  if (Status st = Write(sha256, bytes); !st.ok()) {
    LOG_WARN("cannot keep module {} for restarts: {}", sha256.substr(0, 12), st.message());
  }
  return bytes;
}

void ModuleStore::Retain(const std::set<std::string>& keep) const {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(modules_dir_, ec)) {
    std::string file = e.path().filename().string();
    if (!file.ends_with(".wasm")) continue;
    if (keep.count(file.substr(0, file.size() - 5)) == 0) fs::remove(e.path(), ec);
  }
}

size_t ModuleStore::module_count() const {
  std::error_code ec;
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(modules_dir_, ec)) {
    n += e.path().extension() == ".wasm";
  }
  return n;
}

Result<std::string> ModuleStore::ReadManifest() const {
  return ReadWholeFile<std::string>(data_dir_ + "/manifest.json");
}

Status ModuleStore::WriteManifest(std::string_view json) const {
  return WriteFileAtomically(data_dir_ + "/manifest.json", json);
}

}  // namespace aether::engine
