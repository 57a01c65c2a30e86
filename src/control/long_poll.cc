#include "control/long_poll.h"

#include <algorithm>

#include "common/log.h"

namespace aether::control {
namespace {

// How late a parked request may notice a change that raced with its
// parking, or its own deadline.
constexpr std::chrono::milliseconds kTick{100};

}  // namespace

ChangeFeed StoreChanges(Store& store) {
  return {[&store] { return store.Revision(); },
          [&store](int64_t seen, std::chrono::milliseconds timeout) {
            return store.WaitForRevision(seen, timeout);
          }};
}

LongPoll::LongPoll(ChangeFeed changes, LongPollHooks hooks, std::chrono::milliseconds max_wait,
                   size_t max_waiters, std::string name, Clock& clock)
    : changes_(std::move(changes)),
      hooks_(std::move(hooks)),
      max_wait_(max_wait),
      max_waiters_(max_waiters),
      name_(std::move(name)),
      clock_(clock) {}

LongPoll::~LongPoll() { Stop(); }

void LongPoll::Start() {
  thread_ = std::thread([this] { Run(); });
}

void LongPoll::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
  std::list<Waiter> rest;
  {
    std::lock_guard lock(mu_);
    rest.swap(waiters_);
  }
  for (Waiter& w : rest) hooks_.answer(w.key, w.respond);
  Observe(-1, 0);
}

size_t LongPoll::waiters() const {
  std::lock_guard lock(mu_);
  return waiters_.size();
}

void LongPoll::Observe(int64_t store_revision, size_t waiters) {
  if (hooks_.observe) hooks_.observe(store_revision, waiters);
}

void LongPoll::Wait(std::string key, std::optional<int64_t> since, std::chrono::milliseconds wait,
                    Responder respond) {
  wait = std::min(wait, max_wait_);
  Result<int64_t> rev = hooks_.revision();
  if (!rev.ok()) {
    respond(JsonError(rev.status()));
    return;
  }
  if (!since || *since != *rev || wait.count() <= 0) {
    hooks_.answer(key, respond);
    return;
  }
  size_t parked = 0;
  {
    std::lock_guard lock(mu_);
    if (!stopping_ && waiters_.size() < max_waiters_) {
      waiters_.push_back({std::move(key), *since, clock_.Deadline(wait), std::move(respond)});
      parked = waiters_.size();
    }
  }
  if (parked > 0) {
    Observe(-1, parked);
    return;
  }
  // Full or stopping: answer now; the engine polls again.
  hooks_.answer(key, respond);
}

void LongPoll::Run() {
  Result<int64_t> seen = changes_.current();
  int64_t store_rev = seen.ok() ? *seen : 0;
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    Result<int64_t> r = changes_.wait(store_rev, kTick);
    if (r.ok()) store_rev = *r;
    Result<int64_t> rev = hooks_.revision();
    if (!rev.ok()) {
      LOG_WARN("{} watch: {}", name_, rev.status().message());
      continue;
    }
    // Every waiter is checked on every tick, not only on a change: that
    // also catches a change that landed between a waiter's own check and
    // its parking.
    std::list<Waiter> due;
    size_t left = 0;
    auto now = clock_.Now();
    {
      std::lock_guard lock(mu_);
      for (auto it = waiters_.begin(); it != waiters_.end();) {
        if (it->since != *rev || it->deadline <= now) {
          due.splice(due.end(), waiters_, it++);
        } else {
          ++it;
        }
      }
      left = waiters_.size();
    }
    Observe(store_rev, left);
    for (Waiter& w : due) hooks_.answer(w.key, w.respond);
  }
}

}  // namespace aether::control
