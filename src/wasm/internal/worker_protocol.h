// The messages between the engine (or control plane) and the confined
// compiler process (worker/compiler_main.cc), and the sidecar file the
// compiled-module cache keeps next to each shared object. Both ends are
// built from this tree, so the encoding is a plain length-prefixed one; a
// magic number and version make a mismatched worker fail clearly.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "wasm/module_info.h"
#include "wasm/module_limits.h"

namespace aether::wasm {

enum class WorkerMode : uint64_t {
  kValidate = 1,   // describe the module, compile nothing
  kFast = 2,       // translate and compile with libtcc (in the worker)
  kOptimized = 3,  // translate and compile with the system C compiler at -O2
};

struct WorkerRequest {
  WorkerMode mode = WorkerMode::kValidate;
  ModuleLimits limits;
  // Imports the module may have; any other is refused before compiling.
  // Empty = no check (validation for the control plane, which does not
  // know the nodes' host functions).
  std::vector<FuncImportInfo> allowed_imports;
  bool check_imports = false;
  std::string cc;        // kOptimized: the compiler command
  std::string out_name;  // the shared object to write, relative to the job dir
  std::string wasm;
};

std::string EncodeRequest(const WorkerRequest& request);
Result<WorkerRequest> DecodeRequest(const std::string& data);

// How the compiler process spent its time, sent with its result for the
// engine's DEBUG log of a compile's stages (common/stage_times.h).
struct WorkerTimings {
  int64_t main_ns = 0;  // steady_clock (CLOCK_MONOTONIC, one per machine) when main() began
  std::vector<std::pair<std::string, double>> stages;  // name, milliseconds, in order
};

std::string EncodeResult(const Result<ModuleInfo>& result, const WorkerTimings& timings = {});
// Errors: the worker's own status, or Internal when `data` is not a result.
// `timings` (may be null) receives the worker's timings.
Result<ModuleInfo> DecodeResult(const std::string& data, WorkerTimings* timings = nullptr);

// Sidecar: the module description and the sha256 of the shared object it
// belongs to (checked before that object is loaded).
std::string EncodeSidecar(const ModuleInfo& info, const std::string& so_sha256);
struct Sidecar {
  ModuleInfo info;
  std::string so_sha256;
};
Result<Sidecar> DecodeSidecar(const std::string& data);

}  // namespace aether::wasm
