#include "wasm/validate.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common/log.h"
#include "wasm/internal/sandbox.h"
#include "wasm/internal/spare_keeper.h"

namespace aether::wasm {
namespace {

std::string TempDir() {
  const char* tmp = std::getenv("TMPDIR");
  return tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
}

WorkerRequest ValidateRequest(std::span<const uint8_t> wasm, const ModuleLimits& limits) {
  WorkerRequest q;
  q.mode = WorkerMode::kValidate;
  q.limits = limits;
  q.wasm.assign(reinterpret_cast<const char*>(wasm.data()), wasm.size());
  return q;
}

Result<ModuleInfo> ValidateIn(const std::string& jobs_parent, std::span<const uint8_t> wasm,
                              const ModuleLimits& limits, const CompileLimits& compile,
                              const std::string& worker, StageTimes* stages) {
  ASSIGN_OR_RETURN(JobDir job, JobDir::Create(jobs_parent));
  return RunWorker(worker.empty() ? DefaultWorkerPath() : worker, ValidateRequest(wasm, limits),
                   job.path(), compile, 0, stages);
}

}  // namespace

Result<ModuleInfo> ValidateModule(std::span<const uint8_t> wasm, const ModuleLimits& limits,
                                  const CompileLimits& compile, const std::string& worker,
                                  StageTimes* stages) {
  return ValidateIn(TempDir(), wasm, limits, compile, worker, stages);
}

ModuleValidator::ModuleValidator(const CompileLimits& compile, const std::string& jobs_dir,
                                 const std::string& worker)
    : compile_(compile),
      worker_(worker.empty() ? DefaultWorkerPath() : worker),
      jobs_dir_(jobs_dir.empty() ? TempDir() : jobs_dir),
      spares_(std::make_unique<SpareKeeper>(worker_, jobs_dir_, compile_)) {
  // Not in the shared temporary directory: other programs' job-* live there.
  if (!jobs_dir.empty()) JobDir::SweepAbandoned(jobs_dir_);
}

ModuleValidator::~ModuleValidator() = default;

Result<ModuleInfo> ModuleValidator::Validate(std::span<const uint8_t> wasm,
                                             const ModuleLimits& limits, StageTimes* stages) const {
  if (SpareKeeper::Lease spare = spares_->Take()) {
    Result<ModuleInfo> info = spare->Run(ValidateRequest(wasm, limits), stages);
    if (info.ok() || info.status().code() != Code::kUnavailable) return info;
    LOG_WARN("the spare compiler process ended early ({}); validating in a new one",
             info.status().message());
    if (stages != nullptr) stages->Skip();
  }
  return ValidateIn(jobs_dir_, wasm, limits, compile_, worker_, stages);
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
