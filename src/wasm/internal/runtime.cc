#include "wasm/internal/runtime.h"

#include <dlfcn.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

#include "wasm/internal/guard.h"
#include "wasm/internal/thread_state.h"
#include "wasm/internal/trampoline.h"
#include "wasm/module_limits.h"

namespace aether::wasm {
namespace {

// Jump codes passed to aether_guard_jump.
constexpr int kJumpTrap = 1;
constexpr int kJumpUnwind = 2;
constexpr int kJumpInitFailed = 3;

TrapKind FromWasmRtTrap(uint32_t t) {
  switch (t) {
    case WASM_RT_TRAP_OOB:
      return TrapKind::kOutOfBounds;
    case WASM_RT_TRAP_INT_OVERFLOW:
      return TrapKind::kIntegerOverflow;
    case WASM_RT_TRAP_DIV_BY_ZERO:
      return TrapKind::kDivideByZero;
    case WASM_RT_TRAP_INVALID_CONVERSION:
      return TrapKind::kInvalidConversion;
    case WASM_RT_TRAP_UNREACHABLE:
      return TrapKind::kUnreachable;
    case WASM_RT_TRAP_CALL_INDIRECT:
      return TrapKind::kIndirectCallMismatch;
    case WASM_RT_TRAP_EXHAUSTION:
      return TrapKind::kStackExhausted;
    default:
      return TrapKind::kHostError;
  }
}

// ---- runtime entry points called by module glue (C ABI) ----------------
// They run on the guest's thread with guest frames below them; they may
// jump back to the guard, so they hold only trivially destructible locals.

__attribute__((noreturn)) void ApiTrap(uint32_t kind) {
  ThreadState* st = CurrentThreadState();
  if (st != nullptr) st->trap = FromWasmRtTrap(kind);
  aether_guard_jump(kJumpTrap);
}

// The runtime functions below allocate (malloc's lock) or take locks on
// the guest's behalf. While they run, the thread is in kRuntime: a timeout
// is deferred (thread_state.cc: OnTimeout) and taken by LeaveRuntimeCall,
// because jumping out of the allocator would leave its lock held and every
// other thread waiting on it forever.
ThreadState* EnterRuntimeCall() {
  ThreadState* st = CurrentThreadState();
  st->phase = ThreadState::kRuntime;
  return st;
}

__attribute__((noreturn)) void ApiUnwind(void* /*ctx*/) { aether_guard_jump(kJumpUnwind); }

// Deferred timeout: the watchdog fired while the runtime itself was running.
void LeaveRuntimeCall(ThreadState* st) {
  st->phase = ThreadState::kGuest;
  if (st->ctx != nullptr && st->ctx->hdr.unwind != AETHER_UNWIND_NONE) {
    aether_guard_jump(kJumpUnwind);
  }
}

[[noreturn]] void InitFailed(ThreadState* st, const char* fmt, uint64_t a, uint64_t b) {
  std::snprintf(st->init_error, sizeof(st->init_error), fmt, static_cast<unsigned long long>(a),
                static_cast<unsigned long long>(b));
  aether_guard_jump(kJumpInitFailed);
}

// Bytes of the memory limit left for linear memory beside the tables.
uint64_t MemoryBudget(const ThreadState* st) {
  return st->limit_bytes > st->table_bytes ? st->limit_bytes - st->table_bytes : 0;
}

void NotePeak(ThreadState* st) {
  uint64_t in_use = st->memory_bytes + st->table_bytes;
  if (in_use > st->peak_bytes) st->peak_bytes = in_use;
}

void ApiAllocateMemory(void* mem, uint32_t initial, uint32_t max) {
  auto* m = static_cast<wasm_rt_memory_t*>(mem);
  ThreadState* st = EnterRuntimeCall();
  uint64_t limit_pages = st->limit_bytes / kWasmPageSize;
  if (static_cast<uint64_t>(initial) * kWasmPageSize > MemoryBudget(st)) {
    InitFailed(st, "the module's initial memory (%llu KiB) exceeds the memory limit (%llu KiB)",
               initial * kWasmPageSize / 1024, MemoryBudget(st) / 1024);
  }
  uint64_t effective_max = max < limit_pages ? max : limit_pages;
  uint64_t bytes = static_cast<uint64_t>(initial) * kWasmPageSize;
  uint8_t* base = st->pool->Acquire(bytes);
  if (base == nullptr) InitFailed(st, "out of address space for linear memory (%llu/%llu)", 0, 0);
  m->data = base;
  m->pages = initial;
  m->max_pages = static_cast<uint32_t>(effective_max);
  m->size = static_cast<uint32_t>(bytes);
  st->memory_base = base;
  st->memory_bytes = bytes;
  NotePeak(st);
  LeaveRuntimeCall(st);
}

uint32_t ApiGrowMemory(void* mem, uint32_t delta) {
  auto* m = static_cast<wasm_rt_memory_t*>(mem);
  ThreadState* st = EnterRuntimeCall();
  uint32_t old_pages = m->pages;
  uint64_t new_pages = static_cast<uint64_t>(old_pages) + delta;
  uint32_t result = old_pages;
  if (new_pages > m->max_pages || new_pages > 65536 ||
      new_pages * kWasmPageSize > MemoryBudget(st)) {
    result = UINT32_MAX;
  } else if (delta != 0) {
    uint64_t new_bytes = new_pages * kWasmPageSize;
    if (!st->pool->Grow(m->data, m->size, new_bytes)) {
      result = UINT32_MAX;
    } else {
      m->pages = static_cast<uint32_t>(new_pages);
      // 65536 pages is 4 GiB, which does not fit the 32-bit size field.
      m->size = new_bytes >= (1ull << 32) ? UINT32_MAX : static_cast<uint32_t>(new_bytes);
      st->memory_bytes = new_bytes;
      NotePeak(st);
    }
  }
  LeaveRuntimeCall(st);
  return result;
}

// The pool Runtime::Free releases into. Free passes it this way because
// wasm2c's free path gives the runtime nothing but the memory, and a
// long-lived instance may be destroyed on a thread that never ran a guest
// (so it has no ThreadState).
thread_local MemoryPool* tls_free_pool = nullptr;

void ApiFreeMemory(void* mem) {
  auto* m = static_cast<wasm_rt_memory_t*>(mem);
  if (m->data == nullptr) return;
  tls_free_pool->Release(m->data, static_cast<uint64_t>(m->pages) * kWasmPageSize);
  ThreadState* st = CurrentThreadState();
  if (st != nullptr && st->memory_base == m->data) st->memory_base = nullptr;
  m->data = nullptr;
  m->size = 0;
  m->pages = 0;
}

// Tables count against the memory limit like linear memory does: a module
// may declare up to kMaxTables of them and grow each one.
template <typename Table, typename Elem>
void AllocateTable(void* t, uint32_t elements, uint32_t max) {
  auto* table = static_cast<Table*>(t);
  ThreadState* st = EnterRuntimeCall();
  uint64_t bytes = static_cast<uint64_t>(elements) * sizeof(Elem);
  if (elements > kMaxTableElements ||
      st->memory_bytes + st->table_bytes + bytes > st->limit_bytes) {
    InitFailed(st, "the module's tables (%llu KiB more) exceed the memory limit (%llu KiB)",
               (bytes + 1023) / 1024, st->limit_bytes / 1024);
  }
  table->data = nullptr;
  if (elements > 0) {
    table->data = static_cast<Elem*>(std::calloc(elements, sizeof(Elem)));
    if (table->data == nullptr)
      InitFailed(st, "cannot allocate a table of %llu elements%llu", elements, 0);
  }
  table->size = elements;
  table->max_size = max;
  st->table_bytes += bytes;
  NotePeak(st);
  LeaveRuntimeCall(st);
}

// Runs outside guest code (Runtime::Free), so it needs no deferral.
template <typename Table>
void FreeTable(void* t) {
  auto* table = static_cast<Table*>(t);
  std::free(table->data);
  table->data = nullptr;
  table->size = 0;
}

template <typename Table, typename Elem>
uint32_t GrowTable(void* t, uint32_t delta, const Elem& init) {
  auto* table = static_cast<Table*>(t);
  ThreadState* st = EnterRuntimeCall();
  uint32_t old = table->size;
  uint64_t want = static_cast<uint64_t>(old) + delta;
  uint64_t more = static_cast<uint64_t>(delta) * sizeof(Elem);
  uint32_t result = old;
  if (want > table->max_size || want > kMaxTableElements ||
      st->memory_bytes + st->table_bytes + more > st->limit_bytes) {
    result = UINT32_MAX;
  } else if (delta != 0) {
    auto* data = static_cast<Elem*>(std::realloc(table->data, want * sizeof(Elem)));
    if (data == nullptr) {
      result = UINT32_MAX;
    } else {
      for (uint64_t i = old; i < want; ++i) data[i] = init;
      table->data = data;
      table->size = static_cast<uint32_t>(want);
      st->table_bytes += more;
      NotePeak(st);
    }
  }
  LeaveRuntimeCall(st);
  return result;
}

void ApiAllocateFuncrefTable(void* t, uint32_t n, uint32_t max) {
  AllocateTable<wasm_rt_funcref_table_t, wasm_rt_funcref_t>(t, n, max);
}
void ApiFreeFuncrefTable(void* t) { FreeTable<wasm_rt_funcref_table_t>(t); }
uint32_t ApiGrowFuncrefTable(void* t, uint32_t delta, const void* init) {
  return GrowTable<wasm_rt_funcref_table_t>(t, delta, *static_cast<const wasm_rt_funcref_t*>(init));
}
void ApiAllocateExternrefTable(void* t, uint32_t n, uint32_t max) {
  AllocateTable<wasm_rt_externref_table_t, wasm_rt_externref_t>(t, n, max);
}
void ApiFreeExternrefTable(void* t) { FreeTable<wasm_rt_externref_table_t>(t); }
uint32_t ApiGrowExternrefTable(void* t, uint32_t delta, void* init) {
  return GrowTable<wasm_rt_externref_table_t>(t, delta, static_cast<wasm_rt_externref_t>(init));
}

// Called from module init (Runtime::Load, outside guest code); kept safe
// for a call from guest code too, where it must not be interrupted while it
// holds types_mu_ or allocates.
uint32_t ApiRegisterFuncType(void* self, uint32_t params, uint32_t results, const uint32_t* types) {
  ThreadState* st = CurrentThreadState();
  bool in_guest = st != nullptr && st->phase == ThreadState::kGuest;
  if (in_guest) st->phase = ThreadState::kRuntime;
  uint32_t id = static_cast<Runtime*>(self)->RegisterFuncType(params, results, types);
  if (in_guest) LeaveRuntimeCall(st);
  return id;
}

// The guarded body of one execution: instantiate, then call the entry
// (none: instantiate only).
struct CallJob {
  void (*instantiate)(void*, void*);
  wasm_rt_memory_t* (*memory)(void*);
  void (*entry)(void*);
};

}  // namespace

Runtime::Runtime(const HostRegistry* registry) : registry_(registry) {
  InstallSignalHandlers();
  api_.abi_version = AETHER_ABI_VERSION;
  api_.self = this;
  api_.register_func_type = &ApiRegisterFuncType;
  api_.trap = &ApiTrap;
  api_.unwind = &ApiUnwind;
  api_.allocate_memory = &ApiAllocateMemory;
  api_.grow_memory = &ApiGrowMemory;
  api_.free_memory = &ApiFreeMemory;
  api_.allocate_funcref_table = &ApiAllocateFuncrefTable;
  api_.free_funcref_table = &ApiFreeFuncrefTable;
  api_.grow_funcref_table = &ApiGrowFuncrefTable;
  api_.allocate_externref_table = &ApiAllocateExternrefTable;
  api_.free_externref_table = &ApiFreeExternrefTable;
  api_.grow_externref_table = &ApiGrowExternrefTable;
}

Runtime::~Runtime() = default;

uint32_t Runtime::RegisterFuncType(uint32_t params, uint32_t results, const uint32_t* types) {
  std::vector<uint32_t> key;
  key.reserve(params + results + 1);
  key.push_back(params);
  key.insert(key.end(), types, types + params + results);
  std::lock_guard<std::mutex> lock(types_mu_);
  auto [it, inserted] = types_.emplace(std::move(key), static_cast<uint32_t>(types_.size() + 1));
  return it->second;
}

namespace {
extern "C" void RunInit(void* init, void* /*unused*/) { reinterpret_cast<void (*)()>(init)(); }
}  // namespace

LoadedModule::~LoadedModule() {
  if (handle_ != nullptr) dlclose(handle_);
}

Result<std::unique_ptr<LoadedModule>> Runtime::Load(const std::string& so_path,
                                                    const ModuleInfo& info) {
  std::unique_ptr<LoadedModule> m(new LoadedModule());
  // Resolve imports first so a missing one is reported before any code loads.
  for (const FuncImportInfo& imp : info.imports) {
    const HostFunction* f = registry_->Find(imp.module, imp.name);
    RETURN_IF_ERROR(CheckImport(imp, f != nullptr ? &f->signature : nullptr));
    m->imports_.push_back(f->fn);
  }
  m->handle_ = dlopen(so_path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (m->handle_ == nullptr) {
    const char* err = dlerror();
    return Internal(std::string("cannot load compiled module: ") + (err ? err : "dlopen failed"));
  }
  auto sym = [&](const char* name) { return dlsym(m->handle_, name); };
  const int* abi = static_cast<const int*>(sym("aether_abi_version"));
  auto bind = reinterpret_cast<void (*)(const aether_rt_api*, void* const*)>(sym("aether_bind"));
  auto size = reinterpret_cast<size_t (*)()>(sym("aether_instance_size"));
  auto init = reinterpret_cast<void (*)()>(sym("aether_init_module"));
  m->instantiate_ = reinterpret_cast<void (*)(void*, void*)>(sym("aether_instantiate"));
  m->free_ = reinterpret_cast<void (*)(void*)>(sym("aether_free"));
  m->memory_ = reinterpret_cast<wasm_rt_memory_t* (*)(void*)>(sym("aether_memory"));
  m->export_void_ = reinterpret_cast<void (*(*)(const char*))(void*)>(sym("aether_export_void"));
  m->export_fn_ =
      reinterpret_cast<aether_export_thunk (*)(const char*, const char*)>(sym("aether_export_fn"));
  if (abi == nullptr || *abi != AETHER_ABI_VERSION || bind == nullptr || size == nullptr ||
      init == nullptr || m->instantiate_ == nullptr || m->free_ == nullptr ||
      m->memory_ == nullptr || m->export_void_ == nullptr || m->export_fn_ == nullptr) {
    return Internal("compiled module " + so_path + " has a different ABI; delete the cache");
  }
  bind(&api_, m->imports_.data());
  // Module init registers function types; the glue traps on a type it
  // cannot register. Under a guard, that is an error for this module
  // instead of a jump through a null target.
  PrepareThread();
  if (aether_guard_call(&RunInit, reinterpret_cast<void*>(init), nullptr) != 0) {
    return InvalidArgument("the module's initialization trapped (an unsupported function type)");
  }
  m->instance_size_ = size();
  return m;
}

namespace {

extern "C" void RunGuarded(void* instance, void* vjob) {
  ThreadState* st = CurrentThreadState();
  const auto* job = static_cast<const CallJob*>(vjob);
  if (st->ctx->hdr.unwind != AETHER_UNWIND_NONE) return;  // see Runtime::Enter
  job->instantiate(instance, st->ctx);
  st->ctx->memory = job->memory(instance);
  if (job->entry != nullptr) job->entry(instance);
}

}  // namespace

namespace {

// How a guarded call that returned `code` ended.
CallOutcome OutcomeOf(int code, const ThreadState* st, const ExecContext* ctx) {
  CallOutcome out;
  switch (code) {
    case 0:
      out.kind = CallOutcome::kReturned;
      break;
    case kJumpTrap:
      out.kind = CallOutcome::kTrapped;
      out.trap = st->trap;
      break;
    case kJumpUnwind:
      if (ctx->hdr.unwind == AETHER_UNWIND_EXIT) {
        out.kind = CallOutcome::kExited;
      } else {
        out.kind = CallOutcome::kTrapped;
        if (ctx->hdr.unwind == AETHER_UNWIND_TIMEOUT) {
          out.trap = TrapKind::kTimeout;
        } else {
          // A trap of a call nested in a host call (Reenter) keeps its kind.
          out.trap = st->trap != TrapKind::kNone ? st->trap : TrapKind::kHostError;
        }
      }
      break;
    case kJumpInitFailed:
      out.kind = CallOutcome::kInitFailed;
      out.init_error = st->init_error;
      break;
    default:
      out.kind = CallOutcome::kTrapped;
      out.trap = TrapKind::kHostError;
  }
  return out;
}

}  // namespace

CallOutcome Runtime::Enter(void (*fn)(void*, void*), void* instance, void* job, GuestEntry* entry) {
  PrepareThread();
  ThreadState* st = CurrentThreadState();
  ExecContext* ctx = entry->ctx;
  st->ctx = ctx;
  st->pool = &pool_;
  st->limit_bytes = entry->limit_bytes;
  st->memory_bytes = entry->memory_bytes;
  st->table_bytes = entry->table_bytes;
  st->peak_bytes = entry->peak_bytes;
  st->memory_base = entry->memory_base;
  st->trap = TrapKind::kNone;
  st->init_error[0] = '\0';
  ctx->hdr.unwind = AETHER_UNWIND_NONE;
  ctx->hdr.in_host = 0;
  // Per thread: consecutive calls of one instance may run on different threads.
  ctx->hdr.stack_floor = st->stack_floor;

  ArmWatchdog(st, entry->timeout);
  st->phase = ThreadState::kGuest;
  int code = aether_guard_call(fn, instance, job);
  st->phase = ThreadState::kIdle;
  DisarmWatchdog(st);
  // A timeout that fired after arming but before the guard was set could
  // not jump; it left hdr.unwind set, and the guarded function saw it and
  // returned without entering the guest (short deadlines hit this window).
  if (code == 0 && ctx->hdr.unwind != AETHER_UNWIND_NONE) code = kJumpUnwind;

  entry->peak_bytes = st->peak_bytes;
  entry->memory_bytes = st->memory_bytes;
  entry->table_bytes = st->table_bytes;
  entry->memory_base = st->memory_base;
  CallOutcome out = OutcomeOf(code, st, ctx);
  // Leave nothing of this guest on the thread: a later fault there must not
  // be classified against this instance's memory.
  st->ctx = nullptr;
  st->memory_base = nullptr;
  return out;
}

CallOutcome Runtime::InstantiateAndCall(const LoadedModule& module, void* instance,
                                        ExecContext* ctx, const char* entry, const Limits& limits,
                                        uint64_t* peak_bytes) {
  auto entry_fn = module.export_void_(entry);
  if (entry_fn == nullptr) {
    CallOutcome out;
    out.kind = CallOutcome::kInitFailed;
    out.init_error = std::string("the module does not export a function \"") + entry + "\"";
    return out;
  }
  CallJob job{module.instantiate_, module.memory_, entry_fn};
  GuestEntry e;
  e.ctx = ctx;
  e.limit_bytes = limits.memory_bytes;
  e.timeout = limits.timeout;
  CallOutcome out = Enter(&RunGuarded, instance, &job, &e);
  *peak_bytes = e.peak_bytes;
  return out;
}

CallOutcome Runtime::Instantiate(const LoadedModule& module, void* instance,
                                 void (*initialize)(void*), GuestEntry* entry) {
  CallJob job{module.instantiate_, module.memory_, initialize};
  return Enter(&RunGuarded, instance, &job, entry);
}

CallOutcome Runtime::Call(void* instance, aether_export_thunk fn, const uint64_t* args,
                          uint64_t* result, GuestEntry* entry) {
  aether_call_job job{&entry->ctx->hdr, fn, args, 0};
  CallOutcome out = Enter(&aether_call_trampoline, instance, &job, entry);
  *result = job.result;
  return out;
}

CallOutcome Runtime::Reenter(void* instance, aether_export_thunk fn, const uint64_t* args,
                             uint64_t* result) {
  ThreadState* st = CurrentThreadState();
  ExecContext* ctx = st->ctx;
  aether_reenter_job job{&ctx->hdr, fn, args, 0};
  // The outer call's watchdog and memory accounting stay as they are: the
  // nested call spends the same budget and grows the same memory.
  int code = aether_guard_call(&aether_reenter_trampoline, instance, &job);
  ctx->hdr.in_host = 1;  // back in the host call, whichever way the guard returned
  if (code == 0 && ctx->hdr.unwind != AETHER_UNWIND_NONE) code = kJumpUnwind;
  *result = job.result;
  CallOutcome out = OutcomeOf(code, st, ctx);
  // Whatever ended the nested call ends the outer one too, once the host
  // function returns: the guest's state is whatever the trap left.
  if (out.kind != CallOutcome::kReturned && ctx->hdr.unwind == AETHER_UNWIND_NONE) {
    ctx->hdr.unwind = AETHER_UNWIND_TRAP;
  }
  return out;
}

void Runtime::Free(const LoadedModule& module, void* instance) {
  tls_free_pool = &pool_;
  module.free_(instance);
  tls_free_pool = nullptr;
}

void Runtime::PrepareThread() { PrepareCurrentThread(); }

bool Runtime::InsideHostCallOf(const ExecContext* ctx) {
  ThreadState* st = CurrentThreadState();
  return st != nullptr && st->ctx == ctx && ctx->hdr.in_host != 0 &&
         st->phase == ThreadState::kGuest;
}

bool Runtime::InsideGuestCall() {
  ThreadState* st = CurrentThreadState();
  return st != nullptr && st->ctx != nullptr;
}

}  // namespace aether::wasm
