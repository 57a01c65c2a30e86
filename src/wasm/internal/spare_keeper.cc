#include "wasm/internal/spare_keeper.h"

#include <chrono>
#include <utility>

#include "common/log.h"

namespace aether::wasm {

SpareKeeper::SpareKeeper(std::string worker_path, std::string jobs_parent, CompileLimits limits)
    : worker_path_(std::move(worker_path)),
      jobs_parent_(std::move(jobs_parent)),
      limits_(limits),
      thread_([this] { Loop(); }) {}

SpareKeeper::~SpareKeeper() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

SpareKeeper::Lease::Lease(Lease&& o) noexcept
    : keeper_(std::exchange(o.keeper_, nullptr)), spare_(std::move(o.spare_)) {}

SpareKeeper::Lease::~Lease() {
  if (keeper_ != nullptr) keeper_->Returned(std::move(spare_));
}

SpareKeeper::Lease SpareKeeper::Take() {
  std::unique_ptr<SpareWorker> spare;
  {
    std::lock_guard<std::mutex> lock(mu_);
    spare = std::move(spare_);
    leased_ = spare != nullptr;
  }
  if (spare && !spare->Alive()) {
    LOG_WARN("the spare compiler process {} had exited; starting another", spare->pid());
    Returned(std::move(spare));
    return Lease();
  }
  if (!spare) return Lease();
  return Lease(this, std::move(spare));
}

void SpareKeeper::Returned(std::unique_ptr<SpareWorker> used) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    leased_ = false;
    if (used) used_.push_back(std::move(used));
  }
  cv_.notify_all();
}

void SpareKeeper::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || !used_.empty() || (spare_ == nullptr && !leased_); });
    if (!used_.empty()) {
      std::vector<std::unique_ptr<SpareWorker>> used = std::move(used_);
      used_.clear();
      lock.unlock();
      used.clear();  // kills a process that never ran, removes the job directories
      lock.lock();
      continue;
    }
    if (stopping_) break;
    lock.unlock();
    Result<std::unique_ptr<SpareWorker>> spare = [&]() -> Result<std::unique_ptr<SpareWorker>> {
      ASSIGN_OR_RETURN(JobDir job, JobDir::Create(jobs_parent_));
      return SpareWorker::Start(worker_path_, std::move(job), limits_);
    }();
    lock.lock();
    if (!spare.ok()) {
      LOG_WARN("cannot start a spare compiler process: {}", spare.status().message());
      // Jobs start their own meanwhile; try again later.
      cv_.wait_for(lock, std::chrono::seconds(5), [&] { return stopping_; });
      continue;
    }
    spare_ = std::move(*spare);
  }
  spare_.reset();  // on this thread, before it ends
}

}  // namespace aether::wasm
