// Bounds on what an untrusted module may ask of the compilers, checked in
// the sandboxed compiler before anything is translated: a 54-byte module can
// declare millions of locals, and each one becomes C the compiler must
// chew. Defaults fit real toolchains' output (a large Rust or C++ module has
// tens of thousands of functions, a few hundred locals in its biggest one).
// The config keys are in [runtime] (docs/configuration.md).
#pragma once

#include <chrono>
#include <cstdint>

#include "common/config.h"

namespace aether::wasm {

struct ModuleLimits {
  uint64_t max_functions = 100'000;         // max_functions: imported + defined
  uint64_t max_function_locals = 50'000;    // max_function_locals: params + locals of one
  uint64_t max_module_locals = 2'000'000;   // max_module_locals: summed over all functions
  uint64_t max_function_size = 2ull << 20;  // max_function_size: bytes of one body
  uint64_t max_code_size = 64ull << 20;     // max_code_size: bytes of the code section
};

// Structural bounds that are not worth a config key: nothing real comes
// near them, and each keeps generated C or the runtime's tables bounded.
inline constexpr uint64_t kMaxTables = 100;
inline constexpr uint64_t kMaxImports = 10'000;
inline constexpr uint64_t kMaxExports = 100'000;
inline constexpr uint64_t kMaxNameBytes = 4096;  // one import/export name
// Params, and results, of one function type: the fast tier's compiler
// (tcc) cannot compile calls much wider than 200 arguments.
inline constexpr uint64_t kMaxTypeArity = 100;
inline constexpr uint64_t kMaxTableElements = 10'000'000;

// The confined compiler process (see docs/security.md): wall clock for one
// job, and the address-space limit of it and of every process it starts.
struct CompileLimits {
  std::chrono::nanoseconds timeout = std::chrono::seconds(60);
  uint64_t memory_bytes = 2ull << 30;
};

inline ModuleLimits ModuleLimitsFrom(const RuntimeConfig& rt) {
  return {rt.max_functions, rt.max_function_locals, rt.max_module_locals, rt.max_function_size,
          rt.max_code_size};
}

inline CompileLimits CompileLimitsFrom(const RuntimeConfig& rt) {
  return {rt.compile_timeout, rt.compile_memory_limit};
}

}  // namespace aether::wasm
