// One spare compiler process (sandbox.h, SpareWorker) kept started ahead of
// the next job, on a thread of its own, so that a job on the path of a
// response (the engine's fast-tier compile of a module requests wait for,
// the control plane's validation of a deploy) does not wait for a process
// to start (spawn, exec, dynamic linking: ~5 ms).
//
// Thread-safety: Take may be called from many threads at once.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "wasm/internal/sandbox.h"

namespace aether::wasm {

class SpareKeeper {
 public:
  // Spares run `worker_path` under `limits`, each in its own job directory
  // under `jobs_parent`.
  SpareKeeper(std::string worker_path, std::string jobs_parent, CompileLimits limits);
  // Stops the thread; a spare that never ran is killed.
  ~SpareKeeper();
  SpareKeeper(const SpareKeeper&) = delete;
  SpareKeeper& operator=(const SpareKeeper&) = delete;

  // A spare taken for one job. The next spare is started when the lease
  // ends (after the job): starting one (spawn, exec, dynamic linking,
  // confinement: ~5 ms of CPU) beside the job took that CPU from the job,
  // on the path of a response. The used spare (its process, its job
  // directory and what the job wrote there) is disposed of on the keeper's
  // thread too, not on the path of the job's answer. A lease must not
  // outlive its keeper.
  class Lease {
   public:
    Lease() = default;
    Lease(Lease&& o) noexcept;
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();
    explicit operator bool() const { return spare_ != nullptr; }
    SpareWorker* operator->() const { return spare_.get(); }

   private:
    friend class SpareKeeper;
    Lease(SpareKeeper* keeper, std::unique_ptr<SpareWorker> spare)
        : keeper_(keeper), spare_(std::move(spare)) {}
    SpareKeeper* keeper_ = nullptr;
    std::unique_ptr<SpareWorker> spare_;
  };

  // The spare, if one is ready and alive (empty otherwise: the caller
  // starts a process of its own, and another spare is started meanwhile).
  Lease Take();

 private:
  void Loop();
  void Returned(std::unique_ptr<SpareWorker> used);

  const std::string worker_path_;
  const std::string jobs_parent_;
  const CompileLimits limits_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::unique_ptr<SpareWorker> spare_;
  std::vector<std::unique_ptr<SpareWorker>> used_;  // to dispose of
  bool leased_ = false;                             // a Lease holds the last spare
  bool stopping_ = false;
  // Started last, joined in the destructor. The spare dies with the thread
  // that started it (PR_SET_PDEATHSIG), so this thread, which outlives it,
  // starts every spare and resets the last one itself.
  std::thread thread_;
};

}  // namespace aether::wasm
