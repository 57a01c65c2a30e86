// Keeps the on-disk module cache under a size (`[runtime] cache_disk_limit`):
// every deploy of a new version adds objects (a fast and an optimized tier
// per module, and again for every compiler upgrade), and an edge node's
// disk is small. Removes the entries (object and sidecar) used least
// recently — ModuleCache::Find marks an entry used — until the cache fits,
// and the temporary files of a write that a killed process never finished.
// Entries used within the last minute stay (an object just published is
// loaded right after: removing it then would fail that load), and so does
// the most recently used, whatever their size. An entry removed while
// loaded stays mapped; the next process compiles it again.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace aether::wasm {

struct TrimReport {
  size_t removed = 0;          // entries
  uint64_t removed_bytes = 0;  // their objects and sidecars
  uint64_t kept_bytes = 0;     // what stays
  size_t stale_temporaries = 0;
};

// One pass over `dir`, now. A temporary file (".tmp.") older than
// `stale_after` is a write that never finished (written and renamed in
// milliseconds otherwise); entries used within `keep_recent` stay.
TrimReport TrimCacheDir(const std::string& dir, uint64_t limit,
                        std::chrono::seconds stale_after = std::chrono::minutes(10),
                        std::chrono::seconds keep_recent = std::chrono::minutes(1));

// TrimCacheDir on a thread of its own, off the path of the compile a
// request waits for: once at start, then after each Request (coalesced).
//
// Thread-safety: Request from any thread.
class CacheTrimmer {
 public:
  // `limit` 0: the cache is not bounded and no thread is started.
  CacheTrimmer(std::string dir, uint64_t limit);
  ~CacheTrimmer();
  CacheTrimmer(const CacheTrimmer&) = delete;
  CacheTrimmer& operator=(const CacheTrimmer&) = delete;

  // A pass soon; cheap when one is already due.
  void Request();

 private:
  void Loop();

  const std::string dir_;
  const uint64_t limit_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool pending_ = true;  // the pass at start
  bool stopping_ = false;
  std::thread thread_;  // last: joined before the rest goes
};

}  // namespace aether::wasm
