// A fixed pool of guest threads (wasm::GuestThread: the stack layout the
// trap handling needs) fed by a bounded FIFO queue. The HTTP IO thread only
// submits; a full queue is refused at once so the caller can answer 503
// instead of letting latency grow without bound.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace aether::wasm {
class GuestThread;
}

namespace aether::engine {

struct ExecutorOptions {
  size_t workers = 0;       // 0 = std::thread::hardware_concurrency()
  size_t queue_length = 0;  // tasks waiting for a worker; 0 = 64 per worker
};

// Thread-safety: TrySubmit and the getters from any thread, Stop and the
// destructor from one controlling thread (never from a task).
class Executor {
 public:
  using Task = std::function<void()>;

  explicit Executor(ExecutorOptions options);
  ~Executor();  // Stop()
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Queues `task` for a worker without blocking. False, leaving `task`
  // untouched, when queue_length tasks are waiting already or after Stop().
  // A task must not throw (it runs on a guest thread with no handler above it).
  bool TrySubmit(Task&& task);

  // Refuses new tasks, destroys the queued ones without running them (their
  // captures, e.g. a Responder, decide what that means), waits for the
  // running ones and joins the workers. Idempotent. Queued work is dropped
  // because a shutdown must not wait for queue_length more executions.

  void Stop();

  size_t workers() const { return worker_count_; }
  size_t queue_capacity() const { return ring_.size(); }
  size_t queue_depth() const;  // waiting, not running
  size_t busy() const;         // running

 private:
  void WorkerLoop();

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Task> ring_;  // fixed capacity: no allocation per submit
  size_t head_ = 0;
  size_t count_ = 0;
  size_t busy_ = 0;
  bool stopping_ = false;
  size_t worker_count_ = 0;
  std::vector<std::unique_ptr<wasm::GuestThread>> workers_;
};

}  // namespace aether::engine
