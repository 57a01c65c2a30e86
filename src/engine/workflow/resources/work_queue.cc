#include "engine/workflow/resources/work_queue.h"

#include <utility>

namespace aether::engine::workflow::resources {

WorkQueue::WorkQueue(size_t max_tasks, uint64_t max_bytes)
    : max_tasks_(max_tasks), max_bytes_(max_bytes), thread_([this] { Loop(); }) {}

WorkQueue::~WorkQueue() { Stop(); }

Status WorkQueue::Post(std::function<void()> task, uint64_t bytes) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return FailedPrecondition("the resource is stopping");
    // One task always fits, however large, so a single big payload is not
    // refused by an idle queue.
    if (items_.size() >= max_tasks_ || (!items_.empty() && bytes_ + bytes > max_bytes_)) {
      return ResourceExhausted("the resource's queue is full (" + std::to_string(items_.size()) +
                               " events waiting)");
    }
    items_.push_back(Item{std::move(task), bytes});
    bytes_ += bytes;
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
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  return dropped.size();  // destroyed here, outside the lock
}

size_t WorkQueue::queued() const {
  std::lock_guard lock(mu_);
  return items_.size();
}

void WorkQueue::Loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stopping_ || !items_.empty(); });
    if (stopping_) return;
    Item item = std::move(items_.front());
    items_.pop_front();
    bytes_ -= item.bytes;
    lock.unlock();
    item.fn();
    item.fn = nullptr;  // destroy captures outside the lock too
    lock.lock();
  }
}

}  // namespace aether::engine::workflow::resources
