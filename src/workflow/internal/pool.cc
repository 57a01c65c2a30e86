#include "workflow/internal/pool.h"

#include <algorithm>
#include <thread>
#include <utility>

#include "wasm/guest_thread.h"

namespace aether::workflow::internal {

namespace {
thread_local Pool* current_pool = nullptr;
constexpr auto kExtraIdle = std::chrono::seconds(1);
}  // namespace

Pool::Pool(size_t threads, size_t max_extra)
    : target_(threads != 0 ? threads : std::max(1u, std::thread::hardware_concurrency())),
      max_(target_ + max_extra) {
  ring_.resize(64);
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < target_; ++i) SpawnLocked();
}

Pool::~Pool() { Stop(); }

bool Pool::OnWorker() { return current_pool != nullptr; }

size_t Pool::live_workers() const {
  std::lock_guard lock(mu_);
  return live_;
}

void Pool::SpawnLocked() {
  // Reap the extra workers that have left their loop (they no longer need mu_).
  for (auto it = slots_.begin(); it != slots_.end();) {
    if ((*it)->done) {
      (*it)->thread->Join();
      it = slots_.erase(it);
    } else {
      ++it;
    }
  }
  auto slot = std::make_unique<Slot>();
  Slot* s = slot.get();
  ++live_;
  slot->thread = std::make_unique<wasm::GuestThread>([this, s] { Loop(s); });
  slots_.push_back(std::move(slot));
}

void Pool::Submit(std::shared_ptr<Runnable> r) {
  bool notify = false;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    if (count_ == ring_.size()) {
      std::vector<std::shared_ptr<Runnable>> bigger(ring_.size() * 2);
      for (size_t i = 0; i < count_; ++i) bigger[i] = std::move(ring_[(head_ + i) % ring_.size()]);
      ring_ = std::move(bigger);
      head_ = 0;
    }
    ring_[(head_ + count_) % ring_.size()] = std::move(r);
    ++count_;
    notify = idle_ > 0;
  }
  if (notify) cv_.notify_one();
}

Pool::Blocking::Blocking(Pool& pool) : pool_(current_pool == &pool ? &pool : nullptr) {
  if (pool_ == nullptr) return;
  std::lock_guard lock(pool_->mu_);
  ++pool_->blocked_;
  if (!pool_->stopping_ && pool_->live_ - pool_->blocked_ < pool_->target_ &&
      pool_->live_ < pool_->max_) {
    pool_->SpawnLocked();
  }
}

Pool::Blocking::~Blocking() {
  if (pool_ == nullptr) return;
  std::lock_guard lock(pool_->mu_);
  --pool_->blocked_;
}

void Pool::Loop(Slot* slot) {
  current_pool = this;
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (count_ > 0) {
      std::shared_ptr<Runnable> r = std::move(ring_[head_]);
      head_ = (head_ + 1) % ring_.size();
      --count_;
      lock.unlock();
      r->Run();
      r.reset();  // the last reference may be this one: destroy outside the lock
      lock.lock();
      continue;
    }
    ++idle_;
    if (live_ - blocked_ > target_) {
      // An extra worker: leave after a while without work.
      bool timed_out = cv_.wait_for(lock, kExtraIdle) == std::cv_status::timeout;
      --idle_;
      if (timed_out && count_ == 0 && live_ - blocked_ > target_) break;
    } else {
      cv_.wait(lock);
      --idle_;
    }
  }
  --live_;
  slot->done = true;
  current_pool = nullptr;
}

void Pool::Stop() {
  std::vector<std::shared_ptr<Runnable>> dropped;
  std::vector<std::unique_ptr<Slot>> slots;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    for (; count_ > 0; --count_, head_ = (head_ + 1) % ring_.size()) {
      dropped.push_back(std::move(ring_[head_]));
    }
    slots = std::move(slots_);
    slots_.clear();
  }
  cv_.notify_all();
  for (auto& s : slots) s->thread->Join();
  dropped.clear();
}

}  // namespace aether::workflow::internal
