// The modules whose deploy is under way on this replica, told to engines
// before the deploy commits (GET /node/prefetch, docs/api.md "Node
// protocol") so that they compile a new module while the control plane
// validates and stores it: the deploy's own time leaves the path to the
// module's first response.
//
// A hint is advice. The manifest alone decides what an engine serves; an
// engine that misses a hint (another replica took the deploy) compiles
// when the manifest arrives, as it would without hints. A hinted module
// that the deploy then refuses has cost each engine a compile, which the
// engine's own validation ends early when the module is invalid.
//
// Thread-safety: every method from any thread; Start/Stop from the
// controlling one.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/http_server.h"
#include "common/metrics.h"
#include "control/long_poll.h"

namespace aether::control {

inline constexpr std::chrono::seconds kMaxPrefetchWait{60};

class PrefetchHints {
 public:
  // `waiters` (may be null; outlives this) follows the parked polls.
  explicit PrefetchHints(Gauge* waiters = nullptr, size_t max_waiters = 10000);
  ~PrefetchHints();
  PrefetchHints(const PrefetchHints&) = delete;
  PrefetchHints& operator=(const PrefetchHints&) = delete;

  void Start();
  // Answers every parked request and joins. Idempotent.
  void Stop();

  // Ends its announcement when destroyed (the deploy is over: committed or
  // refused). Move-only.
  class Announcement {
   public:
    Announcement(Announcement&& o) noexcept
        : hints_(std::exchange(o.hints_, nullptr)), id_(o.id_) {}
    Announcement& operator=(Announcement&&) = delete;
    Announcement(const Announcement&) = delete;
    Announcement& operator=(const Announcement&) = delete;
    ~Announcement();

   private:
    friend class PrefetchHints;
    Announcement(PrefetchHints* hints, uint64_t id) : hints_(hints), id_(id) {}
    PrefetchHints* hints_;
    uint64_t id_;
  };

  // Tells the parked engines of `sha256` (the digest of `bytes`, computed
  // by the caller) and serves `bytes` to them (Bytes) until the returned
  // announcement ends. The PrefetchHints outlives it.
  [[nodiscard]] Announcement Announce(std::string sha256, std::shared_ptr<const std::string> bytes);

  // The bytes of a module announced now, or null.
  std::shared_ptr<const std::string> Bytes(const std::string& sha256) const;

  // The long-poll (control/long_poll.h): answers at once when `since` is
  // absent or not the current revision, otherwise when the next
  // announcement comes or `wait` runs out, with the modules announced then
  // (protocol/module_hints.h). Never blocks.
  void Wait(std::optional<int64_t> since, std::chrono::milliseconds wait, Responder respond);
  size_t waiters() const { return poll_.waiters(); }

 private:
  struct Entry {
    uint64_t id;
    std::string sha256;
    std::shared_ptr<const std::string> bytes;
  };
  void End(uint64_t id);
  void Answer(Responder& respond) const;
  // What the long-poll compares `since` with; it moves with every Announce.
  Result<int64_t> Revision() const;
  Result<int64_t> WaitPast(int64_t seen, std::chrono::milliseconds timeout);

  mutable std::mutex mu_;
  std::condition_variable announced_;
  int64_t revision_ = 0;
  uint64_t next_id_ = 1;
  std::vector<Entry> entries_;  // oldest first; deploys under way, so few
  LongPoll poll_;               // last: its thread uses the members above
};

}  // namespace aether::control
