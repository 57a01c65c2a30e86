// What both embedded stores (memory, SQLite) share: one mutex guarding the
// data and the revision, and the waiters of WaitForRevision woken by the
// writes made through this object.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "control/store.h"

namespace aether::control::internal {

class LocalRevisionStore : public Store {
 public:
  Result<int64_t> Revision() override {
    std::lock_guard lock(mu_);
    return revision_;
  }

  Result<int64_t> WaitForRevision(int64_t after, std::chrono::milliseconds timeout) override {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return revision_ > after; });
    return revision_;
  }

 protected:
  // After a write committed under `lock` (held on mu_): records the new
  // revision, releases the lock and wakes the waiters.
  void Publish(std::unique_lock<std::mutex>& lock, int64_t revision) {
    revision_ = revision;
    lock.unlock();
    cv_.notify_all();
  }

  std::mutex mu_;  // the store's data and revision_
  int64_t revision_ = 0;

 private:
  std::condition_variable cv_;
};

}  // namespace aether::control::internal
