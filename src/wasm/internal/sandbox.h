// The engine's and the control plane's side of the confined compiler
// process: start `aether-compiler` for one request, feed it, bound it in
// wall-clock time, collect its answer, and kill its whole process group
// (the C compiler's children too) whatever happens.
//
// Thread-safety: Run may be called from many threads at once; each call is
// its own process.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include "common/result.h"
#include "common/stage_times.h"
#include "wasm/internal/worker_protocol.h"
#include "wasm/module_limits.h"

namespace aether::wasm {

// The aether-compiler beside the running executable (/proc/self/exe).
std::string DefaultWorkerPath();

// A private directory (0700) for one job, removed with everything in it
// when this object goes away. While it lives, the directory is locked
// (flock on the directory itself, which the confined job cannot remove), so
// that SweepAbandoned tells the directories of a process killed with -9
// from those in use, whichever process created them.
class JobDir {
 public:
  // Creates <parent>/job-XXXXXX. Errors: Internal naming the path.
  static Result<JobDir> Create(const std::string& parent);
  // Removes the job-* directories under `parent` that no JobDir holds and
  // that are older than `min_age` (a directory is locked right after it is
  // created: the age keeps that moment safe). For a process's start, so
  // what a killed process left does not pile up. Returns how many.
  static int SweepAbandoned(const std::string& parent,
                            std::chrono::seconds min_age = std::chrono::seconds(60));
  JobDir(JobDir&& other) noexcept
      : path_(std::move(other.path_)), fd_(std::exchange(other.fd_, -1)) {
    other.path_.clear();
  }
  JobDir& operator=(JobDir&&) = delete;
  ~JobDir();
  const std::string& path() const { return path_; }

 private:
  JobDir(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_ = -1;  // the directory, flock(LOCK_EX)
};

// Lets the caller of RunWorker stop and continue the job's process group
// while it runs (compile_gate.h). Started gets the group's id once the
// process exists; Ended comes before the group is reaped. The job's
// wall-clock deadline moves by Paused().
class JobControl {
 public:
  virtual ~JobControl() = default;
  virtual void Started(pid_t group) = 0;
  virtual void Ended() = 0;
  virtual std::chrono::steady_clock::duration Paused() const = 0;
};

// Runs `request` in a new compiler process whose only writable place is
// `job_dir`. Errors: the worker's own (InvalidArgument for the module);
// InvalidArgument when the job ran past `limits.timeout` or the process was
// killed by a limit or crashed on the module; Internal when the worker
// cannot be started or answers garbage.
//
// `nice` (0..19) is the compiler process's niceness, which the C compiler
// it starts inherits: the optimized tier is compiled in the background at
// kBackgroundCompileNice so that it does not slow down the fast-tier
// compile a request is waiting for, nor the requests themselves.
//
// `stages` (may be null) gets the job's stages: "start" (spawn, exec and
// dynamic linking of the process, until its main()), the process's own
// (confine, read, translate, ...; worker/compiler_main.cc), and "exit"
// (the rest: its answer, exit and reaping).
inline constexpr int kBackgroundCompileNice = 10;
Result<ModuleInfo> RunWorker(const std::string& worker_path, const WorkerRequest& request,
                             const std::string& job_dir, const CompileLimits& limits, int nice = 0,
                             StageTimes* stages = nullptr, JobControl* control = nullptr);

// A compiler process started before its job (fast tier only: no exec, nice
// 0): spawned, confined by itself, blocked reading its request, with its
// own job directory. Running a job on it saves the process start (spawn,
// exec, dynamic linking) on the job's path. One job per process, as
// RunWorker: a process a module may have subverted never sees another.
//
// Thread-safety: one thread at a time. Destroying it kills the process if
// it never ran, then removes the job directory.
class SpareWorker {
 public:
  // Errors: Internal when the process cannot be started.
  static Result<std::unique_ptr<SpareWorker>> Start(const std::string& worker_path, JobDir job,
                                                    const CompileLimits& limits);
  ~SpareWorker();
  SpareWorker(const SpareWorker&) = delete;
  SpareWorker& operator=(const SpareWorker&) = delete;

  const std::string& job_dir() const;
  pid_t pid() const;
  // False once the process has exited (it is reaped then).
  bool Alive();
  // RunWorker's job on this process (once). Unavailable when the process
  // ended without an answer: it may have died while it waited (killed), so
  // the caller runs the job on a fresh process, whose verdict counts.
  Result<ModuleInfo> Run(const WorkerRequest& request, StageTimes* stages = nullptr);

 private:
  struct State;
  explicit SpareWorker(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace aether::wasm
