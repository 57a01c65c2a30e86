// The runtime behind the wasm2c ABI: memories from a pool, traps, the stack
// guard, the per-execution timeout, and loading compiled modules.
//
// Lifetimes: Runtime (one per Engine) outlives every LoadedModule it loaded;
// a LoadedModule outlives every execution of it.
#pragma once

#include <pthread.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
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
  // The () -> () export `name`, or null.
  void (*export_void(const char* name) const)(void*) { return export_void_(name); }
  // The export `name` with exactly `signature` (abi.h), or null.
  aether_export_thunk export_fn(const char* name, const char* signature) const {
    return export_fn_(name, signature);
  }

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
  aether_export_thunk (*export_fn_)(const char*, const char*) = nullptr;
};

// How one guarded call ended.
struct CallOutcome {
  enum Kind { kReturned, kTrapped, kExited, kInitFailed } kind = kReturned;
  TrapKind trap = TrapKind::kNone;
  std::string init_error;  // kInitFailed: why instantiation was refused
};

// One guarded entry into guest code: what the runtime needs from the caller
// and gives back. A long-lived instance keeps memory_base and peak_bytes
// between its calls, because they are per instance, not per thread.
struct GuestEntry {
  ExecContext* ctx = nullptr;
  uint64_t limit_bytes = 0;            // cap on linear memory + tables, at allocation and growth
  std::chrono::nanoseconds timeout{};  // wall clock for this entry
  uint8_t* memory_base = nullptr;      // in/out: the instance's memory reservation
  uint64_t memory_bytes = 0;           // in/out: current linear memory size
  uint64_t table_bytes = 0;            // in/out: current size of the instance's tables
  uint64_t peak_bytes = 0;             // in/out: largest memory + tables reached
};

class Runtime {
 public:
  explicit Runtime(const HostRegistry* registry);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // dlopens `so_path` (a verified object, see module_cache.h), checks its
  // ABI, resolves its imports against the registry (error naming the
  // missing import), runs its module init under a guard (a trap there is
  // an InvalidArgument, not a crash). Call on any thread.
  Result<std::unique_ptr<LoadedModule>> Load(const std::string& so_path, const ModuleInfo& info);

  // Instantiates `module` into `instance` (instance_size() zeroed bytes) and
  // calls the export `entry` (a () -> () function), under the limits. The
  // caller must call Free() afterwards in every case. Peak memory in bytes
  // is written to `peak_bytes`.
  CallOutcome InstantiateAndCall(const LoadedModule& module, void* instance, ExecContext* ctx,
                                 const char* entry, const Limits& limits, uint64_t* peak_bytes);
  // Releases everything `instance` holds (memory back to the pool, tables).
  // Any thread, guest thread or not; never inside a guarded call.
  void Free(const LoadedModule& module, void* instance);

  // Long-lived instances. Instantiate runs the module's instantiation (start
  // function included) and then `initialize` when not null; Call runs one
  // export. Both must run on a GuestThread, one at a time per instance, and
  // leave the thread clean; `entry` carries the instance's state from one
  // call to the next, whichever thread makes it. After any outcome but
  // kReturned the caller must not call into the instance again (Free it).
  CallOutcome Instantiate(const LoadedModule& module, void* instance, void (*initialize)(void*),
                          GuestEntry* entry);
  CallOutcome Call(void* instance, aether_export_thunk fn, const uint64_t* args, uint64_t* result,
                   GuestEntry* entry);

  // From inside a host function called by the guest running on this thread
  // (InsideGuestCall()): calls `fn` of that same instance, under the outer
  // call's deadline and memory limit. Any outcome but kReturned also ends
  // the outer call when the host function returns (hdr.unwind is set).
  CallOutcome Reenter(void* instance, aether_export_thunk fn, const uint64_t* args,
                      uint64_t* result);

  const aether_rt_api* api() const { return &api_; }
  MemoryPool& pool() { return pool_; }
  uint32_t RegisterFuncType(uint32_t params, uint32_t results, const uint32_t* types);

  // Prepares the calling thread to run guests (alternate signal stack,
  // stack bounds, watchdog registration). Idempotent and cheap after the
  // first call; called by InstantiateAndCall.
  static void PrepareThread();

  // Whether the calling thread is inside a guest call (in a host function
  // or a callback it made). A guest call cannot start there: the thread's
  // guest state and watchdog hold the outer call's.
  static bool InsideGuestCall();
  // Whether the calling thread is inside a host function called by the
  // guest whose context is `ctx`.
  static bool InsideHostCallOf(const ExecContext* ctx);

 private:
  // Sets the thread up from `entry`, runs fn(instance, job) under the guard
  // and the watchdog, and restores the thread to idle.
  CallOutcome Enter(void (*fn)(void*, void*), void* instance, void* job, GuestEntry* entry);

  const HostRegistry* registry_;
  aether_rt_api api_{};
  MemoryPool pool_;
  std::mutex types_mu_;
  std::map<std::vector<uint32_t>, uint32_t> types_;
};

}  // namespace aether::wasm
