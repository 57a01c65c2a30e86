#include "wasm/internal/compile_gate.h"

#include <signal.h>

namespace aether::wasm {

CompileGate::Urgent::Urgent(CompileGate& gate) : gate_(gate) {
  std::lock_guard lock(gate_.mu_);
  if (gate_.urgent_++ > 0) return;
  auto now = Clock::now();
  for (Background* job : gate_.jobs_) gate_.Stop(*job, now);
}

CompileGate::Urgent::~Urgent() {
  std::lock_guard lock(gate_.mu_);
  if (--gate_.urgent_ > 0) return;
  auto now = Clock::now();
  for (Background* job : gate_.jobs_) gate_.Continue(*job, now);
}

void CompileGate::Stop(Background& job, Clock::time_point now) {
  if (job.stopped_) return;
  // The group is registered, so not reaped: its id is still its own.
  kill(-job.group_, SIGSTOP);
  job.stopped_ = true;
  job.stopped_at_ = now;
}

void CompileGate::Continue(Background& job, Clock::time_point now) {
  if (!job.stopped_) return;
  kill(-job.group_, SIGCONT);
  job.stopped_ = false;
  job.paused_ += now - job.stopped_at_;
}

void CompileGate::Background::Started(pid_t group) {
  std::lock_guard lock(gate_.mu_);
  group_ = group;
  gate_.jobs_.insert(this);
  if (gate_.urgent_ > 0) gate_.Stop(*this, Clock::now());
}

void CompileGate::Background::Ended() {
  std::lock_guard lock(gate_.mu_);
  if (group_ == 0) return;
  gate_.Continue(*this, Clock::now());
  gate_.jobs_.erase(this);
  group_ = 0;
}

CompileGate::Clock::duration CompileGate::Background::Paused() const {
  std::lock_guard lock(gate_.mu_);
  return stopped_ ? paused_ + (Clock::now() - stopped_at_) : paused_;
}

size_t CompileGate::background_jobs() const {
  std::lock_guard lock(mu_);
  return jobs_.size();
}

bool CompileGate::stopping_background() const {
  std::lock_guard lock(mu_);
  return urgent_ > 0;
}

}  // namespace aether::wasm
