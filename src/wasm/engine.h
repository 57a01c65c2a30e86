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

#include "common/result.h"

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
  uint64_t memory_bytes = 16ull << 20;               // linear memory cap (init and grow)
  std::chrono::nanoseconds timeout = std::chrono::seconds(3);  // wall clock per execution
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
  uint64_t max_output_bytes = 16ull << 20;  // per captured stream; writes beyond fail with EFBIG
};

struct RunResult {
  int exit_code = 0;                  // proc_exit code, or 0 when _start returned
  TrapKind trap = TrapKind::kNone;    // set when the execution trapped or timed out
  std::string stdout_data;            // captured stdio only
  std::string stderr_data;
  double exec_ms = 0;                 // instantiate + run + teardown of the guest
  uint64_t peak_memory_bytes = 0;     // largest linear memory size reached
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
};

struct EngineOptions {
  std::string cache_dir;         // on-disk cache of compiled modules
  size_t cache_size = 100;       // loaded modules kept in memory (LRU)
  bool optimize = true;          // compile the optimized tier in the background
  std::string cc = "cc";         // optimizing C compiler
  // Called (from a background thread) when a module's optimized tier is ready
  // or failed; `error` empty on success. May be empty.
  std::function<void(const std::string& sha256, Tier tier, double compile_ms,
                     const std::string& error)> on_compiled;
};

class Engine {
 public:
  virtual ~Engine() = default;

  // Validates and compiles `wasm` (or finds it in the caches) and returns a
  // runnable module. Errors: kInvalidArgument naming what is wrong with the
  // module (validation, an unsupported import), kInternal when the compiler
  // fails.
  virtual Result<std::shared_ptr<const Module>> Load(std::span<const uint8_t> wasm) = 0;

  // The best loaded tier of `module` right now (the optimized tier replaces
  // the fast one once ready). Never null.
  virtual std::shared_ptr<const Module> Current(const std::shared_ptr<const Module>& module) = 0;

  // Runs the module's `_start` (WASI command). A trap or timeout is a
  // successful Result with `trap` set; errors are for executions that could
  // not start: kResourceExhausted when the initial memory is over the limit,
  // kInvalidArgument for a module without `_start`, kNotFound for a missing
  // preopen directory.
  virtual Result<RunResult> Run(const Module& module, const RunOptions& options) = 0;
};

std::unique_ptr<Engine> NewAotEngine(EngineOptions options);

}  // namespace aether::wasm
