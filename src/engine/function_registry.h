// The functions an engine serves. Two sources implement FunctionRegistry:
//  * the functions directory (here): every NAME.wasm in `[runtime]
//    functions_dir`, picked up when added, replaced or removed while the
//    engine runs (inotify, plus a stat of NAME.wasm when a request names a
//    function the registry does not know, in case an event was missed);
//  * the control plane's manifest (managed_functions.h).
// NewLayeredRegistry() serves both, the first one winning a name clash.
//
// Modules are compiled in the background as soon as they appear (prewarm),
// so requests do not pay for it; a request that arrives earlier waits for
// that load, or does it itself when it has not started yet.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "wasm/engine.h"

namespace aether::engine {

// Per-function execution settings (from the control plane's manifest; a
// functions_dir function has none). Zero means the node's own limit; a
// non-zero limit is capped by the node's (the smaller wins).
struct FunctionSettings {
  std::vector<std::string> env;  // "KEY=VALUE"
  uint64_t memory_limit = 0;
  std::chrono::nanoseconds timeout{0};
  bool operator==(const FunctionSettings&) const = default;
};

// One version of a function: the contents of NAME.wasm at one point in time,
// or one manifest entry. Shared by the registry and the requests that use
// it; a new version is a new Function, so a request in flight keeps the
// version it started with.
class Function {
 public:
  virtual ~Function() = default;
  virtual const std::string& name() const = 0;
  virtual const FunctionSettings& settings() const = 0;
  // The loaded module. Blocks until the load finishes (call from a worker,
  // never from an IO thread). Errors: InvalidArgument for a module the
  // engine rejects (the validator's message), Internal for an unreadable
  // file or a compiler failure. The result is computed once per version.
  virtual Result<std::shared_ptr<const wasm::Module>> WaitModule() = 0;
  // True once WaitModule() would return without blocking.
  virtual bool loaded() const = 0;
  // Calls `ready` once loaded() is true: at once on this thread when it is
  // already, else on the thread that finishes the load. Never blocks, so a
  // request can wait for a compile without holding an execution worker.
  virtual void WhenLoaded(std::function<void()> ready) = 0;
  // Runs the load on this thread unless another thread has started it: a
  // request hurries a load still queued behind other functions' compiles.
  virtual void LoadIfQueued() = 0;

  // Kept by the Api (engine/api.h): this version's executions in a row that
  // finished within half of the inline budget. Only after a streak of them
  // does a request run it on the IO thread.
  std::atomic<uint32_t>& quick_runs() { return quick_runs_; }

 private:
  std::atomic<uint32_t> quick_runs_{0};
};

// What the registry knows about a function, for status pages and logs.
struct FunctionInfo {
  std::string name;
  std::string sha256;  // of the file; empty until it was read
  uint64_t size = 0;   // bytes of the file
  std::string state;   // "loading", "ready" or "failed"
  std::string tier;    // "fast" / "optimized" once ready
  std::string error;   // the last load error, empty if none
};

// Thread-safety: every method may be called from any thread; Find() is on
// the request path and takes only a shared lock plus, on a miss, one stat().
class FunctionRegistry {
 public:
  virtual ~FunctionRegistry() = default;

  // The current version of `name`, or nullptr when there is no NAME.wasm.
  // Never blocks on a load.
  virtual std::shared_ptr<Function> Find(std::string_view name) = 0;
  virtual size_t size() const = 0;
  // Sorted by name.
  virtual std::vector<FunctionInfo> List() const = 0;
  virtual const std::string& dir() const = 0;
};

struct FunctionRegistryOptions {
  std::string dir;  // empty = serve no functions
  // Threads compiling in the background; requests that find their module
  // still queued load it themselves, so one is enough.
  size_t loader_threads = 1;
  // Disables inotify (tests of the fallback path); the directory is then
  // rescanned every `poll_interval`.
  bool use_inotify = true;
  std::chrono::milliseconds poll_interval{1000};
};

// Serves `first`'s functions and then `second`'s: Find() asks `first`, then
// `second`; List() and size() merge them, `first`'s entry winning a name both
// have; dir() is `second`'s. Both must outlive the result.
std::unique_ptr<FunctionRegistry> NewLayeredRegistry(FunctionRegistry& first,
                                                     FunctionRegistry& second);

// Scans the directory, queues every module for loading and starts watching.
// Errors: NotFound / PermissionDenied when the directory cannot be read.
// `engine` must outlive the registry. The destructor stops the background
// threads (a load in progress finishes first).
Result<std::unique_ptr<FunctionRegistry>> NewFunctionRegistry(wasm::Engine& engine,
                                                              FunctionRegistryOptions options);

}  // namespace aether::engine
