#include "common/work_queue.h"

#include <exception>
#include <optional>
#include <utility>

#include "common/log.h"

namespace aether {
namespace {

// A task's exception must not end the thread (and with it the process); it
// is not the queue's to handle either, so it is logged where an operator
// sees it.
void RunLogged(const std::string& queue, const std::function<void()>& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    LOG_ERROR("{}: a task threw: {}", queue, e.what());
  } catch (...) {
    LOG_ERROR("{}: a task threw a non-standard exception", queue);
  }
}

}  // namespace

WorkQueue::WorkQueue(WorkQueueOptions options) : options_(std::move(options)) {
  threads_.reserve(options_.threads);
  for (size_t i = 0; i < options_.threads; ++i) threads_.emplace_back([this] { Loop(); });
}

WorkQueue::~WorkQueue() { Stop(); }

Status WorkQueue::Post(std::function<void()> task, uint64_t bytes,
                       std::chrono::steady_clock::time_point wait_until) {
  {
    std::unique_lock lock(mu_);
    Status st = room_.Wait(
        lock, wait_until,
        [&]() -> std::optional<Status> {
          if (stopping_) return FailedPrecondition(options_.name + " is stopping");
          bool over_bytes =
              options_.max_bytes != 0 && !items_.empty() && bytes_ + bytes > options_.max_bytes;
          if (items_.size() >= options_.max_tasks || over_bytes) return std::nullopt;
          items_.push_back(Item{std::move(task), bytes});
          bytes_ += bytes;
          return OkStatus();
        },
        [&] {
          return ResourceExhausted(options_.name + " is full (" + std::to_string(items_.size()) +
                                   " waiting)");
        });
    if (!st.ok()) return st;
  }
  cv_.notify_one();
  return OkStatus();
}

size_t WorkQueue::Stop() {
  std::deque<Item> dropped;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    dropped.swap(items_);
    bytes_ = 0;
  }
  Join();
  return dropped.size();  // destroyed here, outside the lock
}

void WorkQueue::Drain() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  Join();
}

void WorkQueue::Join() {
  cv_.notify_all();
  room_.WakeAll();  // held producers see stopping_
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
}

size_t WorkQueue::queued() const {
  std::lock_guard lock(mu_);
  return items_.size();
}

void WorkQueue::Loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stopping_ || !items_.empty(); });
    // Stop empties the queue first, so this returns at once; Drain leaves
    // the queued tasks to run.
    if (items_.empty()) return;
    Item item = std::move(items_.front());
    items_.pop_front();
    bytes_ -= item.bytes;
    room_.NotifyAll();  // bytes may make room for several
    lock.unlock();
    RunLogged(options_.name, item.fn);
    item.fn = nullptr;  // destroy captures outside the lock too
    lock.lock();
  }
}

}  // namespace aether
