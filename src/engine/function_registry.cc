#include "engine/function_registry.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <thread>
#include <unordered_map>

#include "common/file_io.h"
#include "common/log.h"
#include "common/sha256.h"
#include "engine/internal/dir_watcher.h"
#include "engine/internal/function_version.h"
#include "protocol/names.h"

namespace aether::engine {

namespace {

constexpr std::string_view kSuffix = ".wasm";

// Identifies a file's contents cheaply, for the rescans that have no event
// saying what changed.
struct FileId {
  int64_t mtime_ns = 0;
  uint64_t size = 0;
  uint64_t ino = 0;
  bool operator==(const FileId&) const = default;
};

std::optional<FileId> StatFile(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  return FileId{static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec,
                static_cast<uint64_t>(st.st_size), static_cast<uint64_t>(st.st_ino)};
}

// The stem of NAME.wasm when NAME is a valid function name.
std::optional<std::string> FunctionNameOf(std::string_view file) {
  if (file.size() <= kSuffix.size() || !file.ends_with(kSuffix)) return std::nullopt;
  std::string_view stem = file.substr(0, file.size() - kSuffix.size());
  if (!protocol::IsName(stem)) return std::nullopt;
  return std::string(stem);
}

class DirRegistry final : public FunctionRegistry {
 public:
  DirRegistry(wasm::Engine& engine, FunctionRegistryOptions options)
      : engine_(engine), options_(std::move(options)) {}

  ~DirRegistry() override {
    watcher_.reset();  // no more events
    loader_.reset();   // then no more loads
  }

  Status Start() {
    if (options_.dir.empty()) return OkStatus();
    DIR* d = ::opendir(options_.dir.c_str());
    if (d == nullptr) {
      int err = errno;
      std::string msg = "functions_dir " + options_.dir + ": " + std::strerror(err);
      return err == EACCES ? PermissionDenied(msg) : NotFound(msg);
    }
    ::closedir(d);
    // A version replaced or removed before its turn is not worth a compile.
    loader_ = std::make_unique<LoadQueue>(options_.loader_threads,
                                          [this](const VersionPtr& v) { return IsCurrent(v); });
    Rescan();
    DirWatcherCallbacks cb;
    cb.changed = [this](const std::string& file) { OnChanged(file); };
    cb.removed = [this](const std::string& file) { OnRemoved(file); };
    cb.rescan = [this] { Rescan(); };
    ASSIGN_OR_RETURN(watcher_, StartDirWatcher(options_.dir, std::move(cb), options_.use_inotify,
                                               options_.poll_interval));
    return OkStatus();
  }

  std::shared_ptr<Function> Find(std::string_view name) override {
    {
      std::shared_lock lock(mu_);
      auto it = functions_.find(std::string(name));
      if (it != functions_.end()) return it->second.version;
    }
    // Unknown: maybe an event was missed or has not been handled yet. One
    // stat() per miss is cheap enough for the IO thread; bad names never
    // touch the file system.
    if (options_.dir.empty() || !protocol::IsName(name)) return nullptr;
    return Refresh(std::string(name), /*force=*/false);
  }

  size_t size() const override {
    std::shared_lock lock(mu_);
    return functions_.size();
  }

  std::vector<FunctionInfo> List() const override {
    std::vector<VersionPtr> versions;
    {
      std::shared_lock lock(mu_);
      for (const auto& [name, e] : functions_) versions.push_back(e.version);
    }
    std::vector<FunctionInfo> out;
    out.reserve(versions.size());
    for (const auto& v : versions) out.push_back(v->Info());
    std::sort(out.begin(), out.end(),
              [](const FunctionInfo& a, const FunctionInfo& b) { return a.name < b.name; });
    return out;
  }

  const std::string& dir() const override { return options_.dir; }

 private:
  std::string PathOf(const std::string& name) const {
    return options_.dir + "/" + name + std::string(kSuffix);
  }

  void OnChanged(const std::string& file) {
    std::optional<std::string> name = FunctionNameOf(file);
    if (!name) {
      WarnIgnored(file);
      return;
    }
    // An event means new contents even when mtime and size look unchanged
    // (timestamps are coarse): always take a new version.
    Refresh(*name, /*force=*/true);
  }

  void OnRemoved(const std::string& file) {
    std::optional<std::string> name = FunctionNameOf(file);
    if (!name) return;
    // A move-out may be half of a rename over another name; the file may
    // also be back already. Trust the file system, not the event.
    Refresh(*name, /*force=*/false);
  }

  // Called from the watcher thread only (and Start() before it exists).
  void WarnIgnored(const std::string& file) {
    if (!file.ends_with(kSuffix)) return;      // editors' temp files etc.
    if (!warned_.insert(file).second) return;  // polling would repeat it every interval
    LOG_WARN("ignoring {}/{}: a function name must match {}", options_.dir, file,
             protocol::kNamePattern);
  }

  // Makes the registry's entry for `name` match the file: adds, replaces
  // (when the file changed, or always with `force`) or removes it. Returns
  // the current version.
  VersionPtr Refresh(const std::string& name, bool force) {
    std::string path = PathOf(name);
    std::optional<FileId> id = StatFile(path);
    VersionPtr added;
    {
      std::unique_lock lock(mu_);
      auto it = functions_.find(name);
      if (!id) {
        if (it != functions_.end()) {
          functions_.erase(it);
          lock.unlock();
          LOG_INFO("function {} removed", name);
        }
        return nullptr;
      }
      if (it != functions_.end() && !force && it->second.id == *id) return it->second.version;
      added = std::make_shared<FunctionVersion>(
          name, path, id->size, /*sha256=*/"", FunctionSettings{},
          [path] { return ReadWholeFile<std::vector<uint8_t>>(path); }, engine_);
      functions_[name] = Entry{*id, added};
    }
    loader_->Push(added);
    return added;
  }

  void Rescan() {
    std::vector<std::string> names;
    if (DIR* d = ::opendir(options_.dir.c_str())) {
      while (dirent* e = ::readdir(d)) {
        std::string file = e->d_name;
        if (file == "." || file == "..") continue;
        if (auto name = FunctionNameOf(file)) {
          names.push_back(*name);
        } else {
          WarnIgnored(file);
        }
      }
      ::closedir(d);
    } else {
      LOG_WARN("cannot list functions_dir {}: {}", options_.dir, std::strerror(errno));
      return;
    }
    {
      std::shared_lock lock(mu_);
      for (const auto& [name, e] : functions_) {
        if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
      }
    }
    for (const auto& name : names) Refresh(name, /*force=*/false);
  }

  bool IsCurrent(const VersionPtr& v) const {
    std::shared_lock lock(mu_);
    auto it = functions_.find(v->name());
    return it != functions_.end() && it->second.version == v;
  }

  wasm::Engine& engine_;
  const FunctionRegistryOptions options_;

  struct Entry {
    FileId id;
    VersionPtr version;
  };
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, Entry> functions_;

  std::unique_ptr<LoadQueue> loader_;
  std::set<std::string> warned_;
  std::unique_ptr<DirWatcher> watcher_;  // last: stopped first
};

class LayeredRegistry final : public FunctionRegistry {
 public:
  LayeredRegistry(FunctionRegistry& first, FunctionRegistry& second)
      : first_(first), second_(second) {}

  std::shared_ptr<Function> Find(std::string_view name) override {
    if (std::shared_ptr<Function> f = first_.Find(name)) return f;
    return second_.Find(name);
  }

  size_t size() const override { return List().size(); }

  std::vector<FunctionInfo> List() const override {
    std::vector<FunctionInfo> out = first_.List();
    size_t n = out.size();
    for (FunctionInfo& f : second_.List()) {
      auto end = out.begin() + static_cast<std::ptrdiff_t>(n);
      auto it =
          std::lower_bound(out.begin(), end, f.name,
                           [](const FunctionInfo& a, const std::string& b) { return a.name < b; });
      if (it == end || it->name != f.name) out.push_back(std::move(f));
    }
    std::sort(out.begin(), out.end(),
              [](const FunctionInfo& a, const FunctionInfo& b) { return a.name < b.name; });
    return out;
  }

  const std::string& dir() const override { return second_.dir(); }

 private:
  FunctionRegistry& first_;
  FunctionRegistry& second_;
};

}  // namespace

std::unique_ptr<FunctionRegistry> NewLayeredRegistry(FunctionRegistry& first,
                                                     FunctionRegistry& second) {
  return std::make_unique<LayeredRegistry>(first, second);
}

Result<std::unique_ptr<FunctionRegistry>> NewFunctionRegistry(wasm::Engine& engine,
                                                              FunctionRegistryOptions options) {
  auto registry = std::make_unique<DirRegistry>(engine, std::move(options));
  RETURN_IF_ERROR(registry->Start());
  return std::unique_ptr<FunctionRegistry>(std::move(registry));
}

}  // namespace aether::engine
