// Validation of an untrusted module, for the control plane at deploy time
// (the engine validates as part of compiling). It runs in the confined
// compiler process (docs/security.md): libwabt never parses untrusted bytes
// in the caller's address space.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "common/result.h"
#include "common/stage_times.h"
#include "wasm/module_info.h"
#include "wasm/module_limits.h"

namespace aether::wasm {

// Errors: InvalidArgument with what is wrong (wabt's message, a limit and
// its config key, an import of a memory/table/global, a module the
// validator could not finish within `compile.timeout` or memory); Internal
// when the compiler process cannot be started (its path is in the message).
// `worker` is the aether-compiler executable; empty = the one beside the
// running executable.
// `stages` (may be null) gets the compiler process's steps
// (common/stage_times.h).
Result<ModuleInfo> ValidateModule(std::span<const uint8_t> wasm, const ModuleLimits& limits = {},
                                  const CompileLimits& compile = {}, const std::string& worker = "",
                                  StageTimes* stages = nullptr);

class SpareKeeper;

// ValidateModule with a compiler process started ahead of each call
// (internal/spare_keeper.h), for the control plane, whose deploys answer
// after validation: the call does not wait for a process to start
// (~5 ms). Each process still validates one module only. Calls made while
// the spare is in use (or before it started) start their own process.
//
// Thread-safety: Validate may be called from many threads at once.
class ModuleValidator {
 public:
  // `compile` bounds every validation (the spare is started with it);
  // each runs in a directory of its own under `jobs_dir` (empty: $TMPDIR
  // or /tmp), whose directories left by a process killed with -9 are
  // removed here (not in the shared default); `worker` as for
  // ValidateModule.
  explicit ModuleValidator(const CompileLimits& compile, const std::string& jobs_dir = "",
                           const std::string& worker = "");
  ~ModuleValidator();
  ModuleValidator(const ModuleValidator&) = delete;
  ModuleValidator& operator=(const ModuleValidator&) = delete;

  // ValidateModule's answer, and its `stages`.
  Result<ModuleInfo> Validate(std::span<const uint8_t> wasm, const ModuleLimits& limits,
                              StageTimes* stages = nullptr) const;

 private:
  CompileLimits compile_;
  std::string worker_;
  std::string jobs_dir_;
  std::unique_ptr<SpareKeeper> spares_;
};

// OK when the compiler process can be started: the executable exists and
// may be run. For startup checks, so a broken install fails at once with
// the path instead of at the first deploy. FailedPrecondition otherwise.
Status CompilerWorkerReady(const std::string& worker = "");

}  // namespace aether::wasm
