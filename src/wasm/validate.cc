#include "wasm/validate.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "wasm/internal/sandbox.h"

namespace aether::wasm {

Result<ModuleInfo> ValidateModule(std::span<const uint8_t> wasm, const ModuleLimits& limits,
                                  const CompileLimits& compile, const std::string& worker) {
  const char* tmp = std::getenv("TMPDIR");
  ASSIGN_OR_RETURN(JobDir job, JobDir::Create(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp"));
  WorkerRequest q;
  q.mode = WorkerMode::kValidate;
  q.limits = limits;
  q.wasm.assign(reinterpret_cast<const char*>(wasm.data()), wasm.size());
  return RunWorker(worker.empty() ? DefaultWorkerPath() : worker, q, job.path(), compile);
}

Status CompilerWorkerReady(const std::string& worker) {
  std::string path = worker.empty() ? DefaultWorkerPath() : worker;
  if (access(path.c_str(), X_OK) != 0) {
    return FailedPrecondition("cannot run the compiler process " + path + ": " +
                              std::strerror(errno) +
                              " (aether-compiler is installed beside aether-engine and "
                              "aether-control)");
  }
  return OkStatus();
}

}  // namespace aether::wasm
