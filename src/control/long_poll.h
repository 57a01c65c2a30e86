// The parking lot behind the control plane's long-polls (GET /node/manifest,
// GET /node/workflows): a request whose `since` equals the watched revision
// is parked until that revision moves or its wait runs out, then answered
// by the owner's `answer` hook. One thread watches the Store
// (WaitForRevision) for all parked requests, so a thousand polling engines
// cost no threads.
//
// Thread-safety: Wait and waiters() from any thread; Start/Stop from the
// controlling one.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/clock.h"
#include "common/http_server.h"
#include "common/result.h"
#include "control/store.h"

namespace aether::control {

// What a LongPoll waits on between its checks of the parked requests: the
// store's revision (StoreChanges), or a counter of the owner's.
struct ChangeFeed {
  std::function<Result<int64_t>()> current;
  // Returns once the counter is past `seen` or `timeout` has passed (as
  // Store::WaitForRevision does).
  std::function<Result<int64_t>(int64_t seen, std::chrono::milliseconds timeout)> wait;
};
ChangeFeed StoreChanges(Store& store);

struct LongPollHooks {
  // The revision `since` is compared with (a part of the store's).
  std::function<Result<int64_t>()> revision;
  // Answers one request; `key` is what Wait got (e.g. the polling node).
  std::function<void(const std::string& key, Responder& respond)> answer;
  // Sees the store revision (-1 when unknown) and the parked count after
  // every change of either; may be empty. For gauges.
  std::function<void(int64_t store_revision, size_t waiters)> observe;
};

class LongPoll {
 public:
  // `clock` (deadlines of parked requests) outlives the LongPoll.
  LongPoll(ChangeFeed changes, LongPollHooks hooks, std::chrono::milliseconds max_wait,
           size_t max_waiters, std::string name, Clock& clock = Clock::Real());
  LongPoll(Store& store, LongPollHooks hooks, std::chrono::milliseconds max_wait,
           size_t max_waiters, std::string name, Clock& clock = Clock::Real())
      : LongPoll(StoreChanges(store), std::move(hooks), max_wait, max_waiters, std::move(name),
                 clock) {}
  ~LongPoll();  // Stop()
  LongPoll(const LongPoll&) = delete;
  LongPoll& operator=(const LongPoll&) = delete;

  void Start();
  // Answers every parked request and joins. Idempotent.
  void Stop();

  // Answers at once when `since` is absent or differs from the revision (a
  // newer one, or a store that was reset), or when `wait` is zero, or when
  // max_waiters are parked already; otherwise parks for `wait` (capped at
  // max_wait). Blocks on a store read: call it off the IO threads.
  void Wait(std::string key, std::optional<int64_t> since, std::chrono::milliseconds wait,
            Responder respond);
  size_t waiters() const;

 private:
  struct Waiter {
    std::string key;
    int64_t since;
    Clock::TimePoint deadline;
    Responder respond;
  };
  void Run();
  void Observe(int64_t store_revision, size_t waiters);

  const ChangeFeed changes_;
  const LongPollHooks hooks_;
  const std::chrono::milliseconds max_wait_;
  const size_t max_waiters_;
  const std::string name_;  // for logs
  Clock& clock_;
  mutable std::mutex mu_;
  std::list<Waiter> waiters_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace aether::control
