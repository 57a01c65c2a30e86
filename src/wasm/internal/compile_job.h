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
// `stages` (may be null) gets the time of each step: validate; on the fast
// tier, translate (wasm2c and the check, with tcc alongside) and tcc (what
// tcc had left); otherwise translate, glue, check and cc.
Result<ModuleInfo> RunCompileJob(const WorkerRequest& request, StageTimes* stages = nullptr);

// A fast-tier compile of a small built-in module, for a spare compiler
// process to run while it waits for its job: the job then finds libwabt's,
// wasm2c's and tcc's code paged in, the heap grown and a thread stack to
// reuse, instead of paying for them on the path of a first response
// (~10 ms of a 150 KB module's ~45). Leaves nothing in the directory.
Status WarmUp();

}  // namespace aether::wasm
