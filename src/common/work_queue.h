// The one bounded work queue: N threads draining a FIFO of tasks that is
// bounded by task count and, optionally, by the bytes the tasks carry. Used
// where blocking work (store writes, forwards to engines, compiles, a
// resource's network round trips) must stay off the threads that answer.
//
// Thread-safety: Post and queued() from any thread (also from a task);
// Stop, Drain and the destructor from one controlling thread, never from a
// task (they join the threads).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "common/room_waiter.h"

namespace aether {

struct WorkQueueOptions {
  std::string name = "work queue";  // in errors and logs: "<name> is full"
  size_t threads = 1;
  size_t max_tasks = 1024;  // queued, not counting the running ones
  uint64_t max_bytes = 0;   // what the queued tasks declare together; 0 = no byte bound
};

class WorkQueue {
 public:
  explicit WorkQueue(WorkQueueOptions options);
  ~WorkQueue();  // Stop()
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // Queues `task`, which declares `bytes` (the payload it carries).
  // ResourceExhausted when a bound would be exceeded (the task is destroyed
  // unrun); one task always fits an empty queue whatever its bytes, so a
  // single large payload is not refused by an idle queue. FailedPrecondition
  // after Stop or Drain. A task that throws is logged, and the queue goes on.
  // With `wait_until` in the future, a full queue holds the caller until a
  // task is taken (or then, or Stop): a producer is slowed to the queue's
  // pace instead of refused (the flow control of workflow resources).
  Status Post(std::function<void()> task, uint64_t bytes = 0,
              std::chrono::steady_clock::time_point wait_until = {});

  // Drops the queued tasks (destroying them unrun, outside the lock), waits
  // for the running ones and joins. Returns how many were dropped.
  // Idempotent.
  size_t Stop();
  // Refuses new tasks, runs the queued ones, then joins: for tasks that
  // must answer a client (e.g. "503 shutting down") rather than vanish.
  void Drain();

  size_t queued() const;

 private:
  struct Item {
    std::function<void()> fn;
    uint64_t bytes;
  };
  void Loop();
  void Join();

  const WorkQueueOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;  // a task queued, or stopping
  RoomWaiter room_;             // a task taken, or stopping
  std::deque<Item> items_;
  uint64_t bytes_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace aether
