// The workflow pool: guest threads (wasm::GuestThread) that run actors.
// Separate from the /execute executor so instances blocking a thread in a
// call cannot starve request executions, and vice versa.
//
// An actor is queued once while it has work (its own `scheduled` flag makes
// sure of that); a worker runs a batch of its events and re-queues it, so
// actors share the threads fairly. A worker about to block (a guest waiting
// for a call's reply) says so with Blocking: while workers are blocked the
// pool starts extra threads so `threads` stay runnable (up to a cap), and
// the extra ones exit after a second without work.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

namespace aether::wasm {
class GuestThread;
}

namespace aether::workflow::internal {

class Runnable {
 public:
  virtual ~Runnable() = default;
  virtual void Run() = 0;  // on a pool worker; must not throw
};

// Thread-safety: Submit and Blocking from any thread; Stop and the
// destructor from one controlling thread, never from a worker.
class Pool {
 public:
  explicit Pool(size_t threads, size_t max_extra = 64);
  ~Pool();  // Stop()
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // Queues `r` (never refused: actors bound their own work). Dropped
  // without running after Stop.
  void Submit(std::shared_ptr<Runnable> r);

  // Marks the calling worker as blocked for the scope's lifetime. A no-op
  // on a thread that is not a worker of this pool.
  class Blocking {
   public:
    explicit Blocking(Pool& pool);
    ~Blocking();
    Blocking(const Blocking&) = delete;
    Blocking& operator=(const Blocking&) = delete;

   private:
    Pool* pool_;
  };

  // Drops the queued work and joins the workers (running work finishes).
  void Stop();

  size_t threads() const { return target_; }
  size_t live_workers() const;
  // True on a worker thread of any workflow pool.
  static bool OnWorker();

 private:
  struct Slot {
    std::unique_ptr<wasm::GuestThread> thread;
    bool done = false;
  };
  void SpawnLocked();
  void Loop(Slot* slot);

  const size_t target_;
  const size_t max_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::shared_ptr<Runnable>> ring_;  // grows by doubling, never shrinks
  size_t head_ = 0;
  size_t count_ = 0;
  size_t live_ = 0;     // workers in Loop
  size_t blocked_ = 0;  // of them, blocked in a call
  size_t idle_ = 0;     // of them, waiting for work
  bool stopping_ = false;
  std::vector<std::unique_ptr<Slot>> slots_;
};

}  // namespace aether::workflow::internal
