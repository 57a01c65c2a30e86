// A background thread draining a bounded FIFO of tasks: what lets a
// resource answer a cast at once (queued) while the slow part (a network
// round trip) happens elsewhere, without an unbounded backlog.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "common/result.h"

namespace aether::engine::workflow::resources {

// Thread-safety: Post from any thread (also from a task); Stop and the
// destructor from one controlling thread, never from a task.
class WorkQueue {
 public:
  // At most `max_tasks` queued tasks holding at most `max_bytes` together
  // (the `bytes` each Post declares: the payload it carries).
  WorkQueue(size_t max_tasks, uint64_t max_bytes);
  ~WorkQueue();  // Stop()
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // Queues `task`. ResourceExhausted when either bound would be exceeded
  // (the task is dropped), FailedPrecondition after Stop.
  Status Post(std::function<void()> task, uint64_t bytes);

  // Drops the queued tasks (destroying them without running them), waits
  // for the running one to return and joins the thread. Returns how many
  // were dropped. Idempotent.
  size_t Stop();

  size_t queued() const;

 private:
  struct Item {
    std::function<void()> fn;
    uint64_t bytes;
  };
  void Loop();

  const size_t max_tasks_;
  const uint64_t max_bytes_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> items_;
  uint64_t bytes_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace aether::engine::workflow::resources
