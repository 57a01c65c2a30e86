#include "wasm/internal/cache_trimmer.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <map>
#include <vector>

#include "common/log.h"
#include "common/units.h"

namespace aether::wasm {
namespace {

constexpr std::string_view kObject = ".so";
constexpr std::string_view kSidecar = ".so.info";

// An object and its sidecar, keyed by the object's path (the object may be
// missing: an orphaned sidecar).
struct Entry {
  uint64_t bytes = 0;
  int64_t used = 0;  // ns: the sidecar's mtime (Find touches it), else the object's
  bool has_sidecar = false;
};

bool LStat(const std::string& path, struct stat* st) {
  return lstat(path.c_str(), st) == 0 && S_ISREG(st->st_mode);
}

// Seconds alone tie for the modules of one deploy burst.
int64_t MtimeNs(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

}  // namespace

TrimReport TrimCacheDir(const std::string& dir, uint64_t limit, std::chrono::seconds stale_after,
                        std::chrono::seconds keep_recent) {
  TrimReport report;
  const time_t now = time(nullptr);
  std::map<std::string, Entry> entries;  // by the object's path
  std::error_code ec;
  // increment(ec), not a range-for: its operator++ throws, on this thread.
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const std::string path = it->path().string();
    struct stat st;
    if (!LStat(path, &st)) continue;  // jobs/, anything not a plain file
    if (name.find(".tmp.") != std::string::npos) {
      if (now - st.st_mtime >= stale_after.count() && unlink(path.c_str()) == 0) {
        ++report.stale_temporaries;
      }
      continue;
    }
    bool sidecar = name.ends_with(kSidecar);
    if (!sidecar && !name.ends_with(kObject)) continue;
    Entry& e =
        entries[sidecar ? path.substr(0, path.size() - (kSidecar.size() - kObject.size())) : path];
    e.bytes += static_cast<uint64_t>(st.st_size);
    if (sidecar) {
      e.has_sidecar = true;
      e.used = MtimeNs(st);
    } else if (!e.has_sidecar) {
      e.used = MtimeNs(st);
    }
  }
  using Item = std::map<std::string, Entry>::value_type;
  std::vector<const Item*> order;
  uint64_t total = 0;
  for (const Item& item : entries) {
    order.push_back(&item);
    total += item.second.bytes;
  }
  std::sort(order.begin(), order.end(),
            [](const Item* a, const Item* b) { return a->second.used < b->second.used; });
  const int64_t recent = (static_cast<int64_t>(now) - keep_recent.count()) * 1'000'000'000;
  // The last one is the most recently used: it stays.
  for (size_t i = 0; i + 1 < order.size() && total > limit; ++i) {
    const auto& [object, e] = *order[i];
    if (e.used >= recent) break;  // sorted: the rest are recent too
    // The object first: a Find meanwhile misses quietly instead of finding
    // an object without its sidecar.
    unlink(object.c_str());
    unlink((object + ".info").c_str());
    total -= e.bytes;
    report.removed_bytes += e.bytes;
    ++report.removed;
  }
  report.kept_bytes = total;
  return report;
}

CacheTrimmer::CacheTrimmer(std::string dir, uint64_t limit) : dir_(std::move(dir)), limit_(limit) {
  if (limit_ > 0) thread_ = std::thread([this] { Loop(); });
}

CacheTrimmer::~CacheTrimmer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void CacheTrimmer::Request() {
  if (limit_ == 0) return;
  {
    std::lock_guard lock(mu_);
    if (pending_) return;
    pending_ = true;
  }
  cv_.notify_all();
}

void CacheTrimmer::Loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stopping_ || pending_; });
    if (stopping_) return;
    pending_ = false;
    lock.unlock();
    TrimReport r = TrimCacheDir(dir_, limit_);
    if (r.removed > 0 || r.stale_temporaries > 0) {
      LOG_INFO(
          "module cache {}: removed {} least recently loaded compiled modules ({} bytes) and {} "
          "unfinished writes; {} bytes kept (cache_disk_limit {})",
          dir_, r.removed, r.removed_bytes, r.stale_temporaries, r.kept_bytes, FormatSize(limit_));
    }
    lock.lock();
  }
}

}  // namespace aether::wasm
