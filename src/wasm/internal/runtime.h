// The runtime behind the wasm2c ABI: memories from a pool, traps, the stack
// guard, the per-execution timeout, and loading compiled modules.
//
// Lifetimes: Runtime (one per Engine) outlives every LoadedModule it loaded;
// a LoadedModule outlives every execution of it.
#pragma once

#include <pthread.h>

#include <chrono>
#include <functional>
#include <thread>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.h"
#include "wasm/abi.h"
#include "wasm/engine.h"
#include "wasm/guest_thread.h"
#include "wasm/host.h"
#include "wasm/internal/memory_pool.h"
#include "wasm/internal/translate.h"

namespace aether::wasm {

class Runtime;

// A compiled module mapped into the process (dlopen), bound to a Runtime.
class LoadedModule {
 public:
  ~LoadedModule();
  LoadedModule(const LoadedModule&) = delete;
  LoadedModule& operator=(const LoadedModule&) = delete;

  size_t instance_size() const { return instance_size_; }
  bool has_export(const char* name) const { return export_void_(name) != nullptr; }

 private:
  friend class Runtime;
  LoadedModule() = default;

  void* handle_ = nullptr;
  std::vector<void*> imports_;  // read by the module through aether_bind
  size_t instance_size_ = 0;
  void (*instantiate_)(void*, void*) = nullptr;
  void (*free_)(void*) = nullptr;
  wasm_rt_memory_t* (*memory_)(void*) = nullptr;
  void (*(*export_void_)(const char*))(void*) = nullptr;
};

// How one guarded call ended.
struct CallOutcome {
  enum Kind { kReturned, kTrapped, kExited, kInitFailed } kind = kReturned;
  TrapKind trap = TrapKind::kNone;
  std::string init_error;  // kInitFailed: why instantiation was refused
};

class Runtime {
 public:
  explicit Runtime(const HostRegistry* registry);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // dlopens `so_path`, checks its ABI, resolves its imports against the
  // registry (error naming the missing import), runs its module init.
  Result<std::unique_ptr<LoadedModule>> Load(const std::string& so_path, const ModuleInfo& info);

  // Instantiates `module` into `instance` (instance_size() zeroed bytes) and
  // calls the export `entry` (a () -> () function), under the limits. The
  // caller must call Free() afterwards in every case. Peak memory in bytes
  // is written to `peak_bytes`.
  CallOutcome InstantiateAndCall(const LoadedModule& module, void* instance, ExecContext* ctx,
                                 const char* entry, const Limits& limits, uint64_t* peak_bytes);
  void Free(const LoadedModule& module, void* instance);

  const aether_rt_api* api() const { return &api_; }
  MemoryPool& pool() { return pool_; }
  uint32_t RegisterFuncType(uint32_t params, uint32_t results, const uint32_t* types);

  // Prepares the calling thread to run guests (alternate signal stack,
  // stack bounds, watchdog registration). Idempotent and cheap after the
  // first call; called by InstantiateAndCall.
  static void PrepareThread();

 private:
  const HostRegistry* registry_;
  aether_rt_api api_{};
  MemoryPool pool_;
  std::mutex types_mu_;
  std::map<std::vector<uint32_t>, uint32_t> types_;
};

}  // namespace aether::wasm
