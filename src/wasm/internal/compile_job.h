// One request of the compiler process: validate, or translate + compile.
// Runs in the confined process only (worker/compiler_main.cc), in its job
// directory (the current directory).
#pragma once

#include "common/result.h"
#include "common/stage_times.h"
#include "wasm/internal/worker_protocol.h"

namespace aether::wasm {

// Errors: InvalidArgument for what is wrong with the module (including an
// import Aether does not provide), Internal for a compiler failure.
// `stages` (may be null) gets the time of each step (validate or
// translate, glue, check, tcc or cc).
Result<ModuleInfo> RunCompileJob(const WorkerRequest& request, StageTimes* stages = nullptr);

}  // namespace aether::wasm
