// The public interface of the sandbox: load a module, run it.
//
// Lifetimes: Engine (one per process) -> Module (immutable, shared by many
// executions, kept alive by shared_ptr) -> one execution per Run() call.
// Thread-safety: every method may be called from any thread concurrently.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/limits.h"
#include "common/result.h"
#include "wasm/host.h"
#include "wasm/module_limits.h"

namespace aether::wasm {

class WasiCtx;

// Why a guest execution ended abnormally. A closed set, one name each.
enum class TrapKind {
  kNone = 0,
  kOutOfBounds,
  kIntegerOverflow,
  kDivideByZero,
  kInvalidConversion,
  kUnreachable,
  kIndirectCallMismatch,
  kStackExhausted,
  kTimeout,
  kHostError,  // the guest misused a host ABI
};

// Short machine name ("out_of_bounds") and a human sentence.
std::string_view TrapName(TrapKind kind);
std::string_view TrapMessage(TrapKind kind);

struct Limits {
  uint64_t memory_bytes = kDefaultMemoryLimit;             // linear memory cap (init and grow)
  std::chrono::nanoseconds timeout = kDefaultExecTimeout;  // wall clock per execution
};

struct Preopen {
  std::string host_path;   // directory on the host
  std::string guest_path;  // the name the guest sees, e.g. "/data" or "."
};

struct RunOptions {
  std::vector<std::string> args;  // argv, args[0] is the program name
  std::vector<std::string> env;   // "KEY=VALUE"
  std::vector<Preopen> preopens;
  Limits limits;
  // Stdio: captured (stdin from `stdin_data`, stdout/stderr into the result)
  // unless `inherit_stdio`, which uses the process's fds 0, 1, 2.
  bool inherit_stdio = false;
  std::string_view stdin_data;
  uint64_t max_output_bytes =
      kDefaultMaxOutput;  // per captured stream; writes beyond fail with EFBIG
};

struct RunResult {
  int exit_code = 0;                // proc_exit code, or 0 when _start returned
  TrapKind trap = TrapKind::kNone;  // set when the execution trapped or timed out
  std::string stdout_data;          // captured stdio only
  std::string stderr_data;
  double exec_ms = 0;              // instantiate + run + teardown of the guest
  uint64_t peak_memory_bytes = 0;  // largest linear memory size reached
};

// A long-lived instance (the workflow ABI): its linear memory and globals
// persist across calls. Created by Engine::Instantiate.
struct InstanceOptions {
  std::vector<std::string> args;  // argv for WASI, args[0] = the name
  std::vector<std::string> env;   // "KEY=VALUE"
  // memory_bytes caps the memory for the instance's whole life; timeout
  // bounds instantiation (start function + `_initialize`) and, unless a call
  // passes its own, each Call().
  Limits limits;
  // Every write of the guest to stdout (fd 1) or stderr (fd 2), as written;
  // may be empty (then the bytes are dropped). Called on the calling thread.
  std::function<void(int fd, std::string_view bytes)> on_output;
  // ExecContext::extension for host functions during this instance's calls.
  void* host_data = nullptr;
};

struct InstanceCall {
  TrapKind trap = TrapKind::kNone;  // kTimeout when the deadline passed
  uint64_t value = 0;               // the i32/i64 result (zero-extended); 0 for "v:" signatures
  double exec_ms = 0;
};

// Thread-safety: one call at a time per instance (the owner serializes, e.g.
// an actor's mailbox); consecutive calls may come from different threads,
// each of which must be a GuestThread. The destructor may run on any thread
// (not during a call); it returns the linear memory to the engine's pool.
// The instance keeps its Module loaded; the Engine must outlive it.
// Guest writes to stdout/stderr go to InstanceOptions::on_output as they
// happen; nothing is buffered.
class Instance {
 public:
  virtual ~Instance() = default;

  // Whether the module exports a function `name` with `signature`, spelled
  // like HostFunction::signature: "v:" (() -> ()), "v:ii", "v:iiii", "i:i",
  // "I:iiii" (i64 result). Signatures with only i32/i64 params and an
  // optional i32/i64 result are supported.
  virtual bool HasExport(std::string_view name, std::string_view signature) const = 0;

  // Calls export `name` (which must have `signature`) with `args` (i32 args
  // truncated to 32 bits). A trap or timeout is a successful Result with
  // `trap` set, after which the instance is broken: every further Call
  // returns FailedPrecondition and the owner should destroy and re-create it.
  // proc_exit inside a call counts as a trap (kHostError). Errors:
  // InvalidArgument for a missing export / wrong signature / arity,
  // FailedPrecondition for a broken instance (or a call from inside another
  // guest's host function on the same thread). `timeout` 0 = limits.timeout;
  // negative = already expired (the call times out at once).
  virtual Result<InstanceCall> Call(std::string_view name, std::string_view signature,
                                    std::span<const uint64_t> args,
                                    std::chrono::nanoseconds timeout = {}) = 0;

  // From inside a host function that this instance's guest called, on that
  // thread: calls export `name` of the same instance, e.g. the guest's
  // allocator for a host function that hands the guest a buffer it will
  // own. The nested call spends the outer call's time and memory budget. A
  // trap or timeout in it is a successful Result with `trap` set; the outer
  // call then ends with that trap as soon as the host function returns,
  // and the instance is broken. FailedPrecondition when not inside a host
  // call of this instance (or after a trap); InvalidArgument as for Call.
  virtual Result<InstanceCall> CallFromHost(std::string_view name, std::string_view signature,
                                            std::span<const uint64_t> args) {
    (void)name, (void)signature, (void)args;
    return FailedPrecondition("this engine cannot call a guest from its host calls");
  }

  // Bounds-checked access to linear memory between calls (host functions
  // use ExecContext during calls instead). InvalidArgument when [ptr, ptr+len) is
  // outside the memory.
  virtual Result<std::string> ReadMemory(uint32_t ptr, uint32_t len) const = 0;
  virtual Status WriteMemory(uint32_t ptr, std::string_view bytes) = 0;

  virtual uint64_t memory_bytes() const = 0;  // current linear memory size
  virtual uint64_t peak_memory_bytes() const = 0;
};

enum class Tier { kFast, kOptimized };
std::string_view TierName(Tier tier);

// A validated, compiled, loaded module. Immutable; shared between executions.
class Module {
 public:
  virtual ~Module() = default;
  virtual const std::string& sha256() const = 0;
  virtual Tier tier() const = 0;
  virtual uint64_t wasm_size() const = 0;
  // Whether the module imports the function `module`.`name` (which host
  // ABI it speaks: workflow/internal/function_actor.h).
  virtual bool ImportsFunction(std::string_view module, std::string_view name) const {
    (void)module, (void)name;
    return false;
  }
};

struct EngineOptions {
  std::string cache_dir;    // on-disk cache of compiled modules
  size_t cache_size = 100;  // loaded modules kept in memory (LRU)
  // Bytes the on-disk cache may hold; past it the least recently used
  // compiled modules are removed (internal/cache_trimmer.h). 0 = unbounded.
  uint64_t cache_disk_limit = 1ull << 30;
  bool optimize = true;   // compile the optimized tier in the background
  std::string cc = "cc";  // optimizing C compiler
  // What a module may ask of the compilers, and the confined compiler
  // process's own bounds (module_limits.h). A module over a limit fails
  // Load with InvalidArgument naming the limit.
  ModuleLimits module_limits;
  CompileLimits compile_limits;
  // The aether-compiler executable; empty = the one beside this executable.
  std::string compiler_worker;
  // Host functions offered besides WASI (e.g. the workflow ABI's "aether"
  // module). They receive ExecContext* whose `extension` is the
  // InstanceOptions::host_data of the running instance, or null during a
  // Run() (request ABI): a host function must then end the execution with a
  // trap (hdr.unwind = AETHER_UNWIND_TRAP).
  std::vector<HostFunction> host_functions;
  // Called (from a background thread) when a module's optimized tier is ready
  // or failed; `error` empty on success. May be empty.
  std::function<void(const std::string& sha256, Tier tier, double compile_ms,
                     const std::string& error)>
      on_compiled;
};

class Engine {
 public:
  virtual ~Engine() = default;

  // Validates and compiles `wasm` (or finds it in the caches) and returns a
  // runnable module. Validation and compilation run in the confined
  // compiler process, never in this one. Errors: kInvalidArgument naming
  // what is wrong with the module (validation, a limit, an unsupported
  // import, a compile past compile_timeout or compile_memory_limit),
  // kFailedPrecondition for an unsafe cache directory, kInternal when the
  // compiler fails or cannot be started.
  virtual Result<std::shared_ptr<const Module>> Load(std::span<const uint8_t> wasm) = 0;

  // Load, for a module that may never run (compiled ahead of its manifest
  // on a control plane's hint): the same fast tier, but the optimized tier
  // (gcc, seconds of CPU) waits until a Load asks for the module.
  virtual Result<std::shared_ptr<const Module>> Prepare(std::span<const uint8_t> wasm) {
    return Load(wasm);
  }

  // The best loaded tier of `module` right now (the optimized tier replaces
  // the fast one once ready). Never null.
  virtual std::shared_ptr<const Module> Current(const std::shared_ptr<const Module>& module) = 0;

  // Runs the module's `_start` (WASI command). A trap or timeout is a
  // successful Result with `trap` set; errors are for executions that could
  // not start: kResourceExhausted when the initial memory is over the limit,
  // kInvalidArgument for a module without `_start`, kNotFound for a missing
  // preopen directory.
  virtual Result<RunResult> Run(const Module& module, const RunOptions& options) = 0;

  // Instantiates `module` for many calls: runs its start function and, when
  // exported, the WASI reactor's `_initialize`. Must be called on a
  // GuestThread. Errors: kResourceExhausted (initial memory over the limit),
  // kFailedPrecondition naming the trap when instantiation or `_initialize` trapped or
  // timed out, kInvalidArgument for a WASI command (it exports `_start`
  // and not `_initialize`: a command's exports rerun its constructors, so
  // its state would not persist; build it as a reactor).
  // Engines that cannot keep instances answer FailedPrecondition.
  virtual Result<std::unique_ptr<Instance>> Instantiate(const Module& module,
                                                        InstanceOptions options) {
    (void)module;
    (void)options;
    return FailedPrecondition("this engine does not support long-lived instances");
  }
};

std::unique_ptr<Engine> NewAotEngine(EngineOptions options);

}  // namespace aether::wasm
