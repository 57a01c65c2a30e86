// Compiles the modules a control plane announces before their deploy
// commits (ControlClient's prefetch hints, control/prefetch_hints.h), so
// that the manifest that follows finds them compiled or compiling:
// wasm::Engine::Load shares one compile of a module among its callers and
// keeps the result loaded. Nothing is served from here; the manifest alone
// decides what runs.
//
// Bounded: a few modules at once, a short queue (hints past it are
// dropped: their manifest still brings them), each digest taken once.
//
// Thread-safety: Offer from any thread; the destructor from one.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

#include "common/metrics.h"
#include "common/result.h"
#include "common/work_queue.h"
#include "protocol/module_hints.h"
#include "wasm/engine.h"

namespace aether::engine {

struct PrefetcherOptions {
  size_t threads = 2;            // modules compiled at once
  size_t max_queued = 8;         // waiting hints; more are dropped
  uint64_t max_module_size = 0;  // a hint over it is dropped; 0 = any
  size_t remember = 256;         // digests already taken, not taken again
  // Outcomes (aether_prefetches_total{result}); each may be null.
  Counter* compiled = nullptr;  // loaded: compiled, or found in a cache
  Counter* failed = nullptr;    // the fetch or the compile failed
  Counter* dropped = nullptr;   // over max_module_size, or the queue was full
};

class Prefetcher {
 public:
  // The module's bytes, verified against the digest (ModuleStore::GetOrFetch).
  using Read = std::function<Result<std::vector<uint8_t>>(const std::string& sha256)>;

  // `engine` outlives this.
  Prefetcher(wasm::Engine& engine, Read read, PrefetcherOptions options = {});
  // Drops the queued hints and waits for the compiles under way.
  ~Prefetcher();
  Prefetcher(const Prefetcher&) = delete;
  Prefetcher& operator=(const Prefetcher&) = delete;

  // Queues the hints whose digest was not taken before. Never blocks.
  void Offer(const std::vector<protocol::ModuleHint>& hints);

 private:
  // Under mu_: whether `sha256` is new, and remembers it.
  bool FirstTime(const std::string& sha256);
  void Run(const protocol::ModuleHint& hint);

  wasm::Engine& engine_;
  const Read read_;
  const PrefetcherOptions options_;
  mutable std::mutex mu_;
  std::unordered_set<std::string> taken_;
  std::deque<std::string> taken_order_;  // oldest first, for forgetting
  WorkQueue queue_;                      // last: its threads use the members above
};

}  // namespace aether::engine
