// Background compiles (the optimized tier: gcc -O2, seconds per module)
// give way to the compiles that requests wait for (the fast tier): while
// one of those runs, every background compiler process group is stopped
// (SIGSTOP) and continued (SIGCONT) once none runs. Niceness alone was not
// enough: beside six gcc -O2 at nice 19, a 150 KB module's first response
// took ~60 ms instead of ~45 (caches and memory bandwidth are shared, not
// only the CPU). A stopped job's wall-clock deadline moves by the time it
// was stopped; its CPU-time limit is not touched by a stop.
//
// Thread-safety: every method from any thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <mutex>
#include <set>

#include "wasm/internal/sandbox.h"

namespace aether::wasm {

class CompileGate {
 public:
  using Clock = std::chrono::steady_clock;

  CompileGate() = default;
  CompileGate(const CompileGate&) = delete;
  CompileGate& operator=(const CompileGate&) = delete;

  // A compile a request waits for, from when it holds its compile slot
  // (before that, the background jobs holding slots must run) until its
  // object is published.
  class Urgent {
   public:
    explicit Urgent(CompileGate& gate);
    ~Urgent();
    Urgent(const Urgent&) = delete;
    Urgent& operator=(const Urgent&) = delete;

   private:
    CompileGate& gate_;
  };

  // One background job: pass it to RunWorker, which reports the process
  // group it started and when the job ended (before the group is reaped,
  // so that no signal can reach a reused pid).
  class Background final : public JobControl {
   public:
    explicit Background(CompileGate& gate) : gate_(gate) {}
    ~Background() override { Ended(); }
    Background(const Background&) = delete;
    Background& operator=(const Background&) = delete;

    void Started(pid_t group) override;
    void Ended() override;
    Clock::duration Paused() const override;

   private:
    friend class CompileGate;
    CompileGate& gate_;
    pid_t group_ = 0;  // under gate_.mu_; 0 when not registered
    bool stopped_ = false;
    Clock::time_point stopped_at_;
    Clock::duration paused_{0};
  };

  // For tests and logs: how many background jobs run or wait now.
  size_t background_jobs() const;
  bool stopping_background() const;

 private:
  void Stop(Background& job, Clock::time_point now);      // under mu_
  void Continue(Background& job, Clock::time_point now);  // under mu_

  mutable std::mutex mu_;
  int urgent_ = 0;
  std::set<Background*> jobs_;
};

}  // namespace aether::wasm
