// An instance placed on this node, as an actor: a bounded mailbox of events
// handled one at a time on the pool, and a lifecycle
//
//   starting ─ok─▶ running ─trap─▶ restarting ─backoff─▶ starting
//      │  ▲
//      ▼  │ (slow retry)
//    failed
//
// run by the pool worker that holds the actor (`scheduled_`): starting,
// handling events and stopping never overlap. Subclasses (function,
// resource, http-ingress) implement the three hooks, which the pool worker
// calls; everything else may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>

#include "common/result.h"
#include "common/room_waiter.h"
#include "workflow/internal/core.h"
#include "workflow/internal/mailbox.h"
#include "workflow/internal/pool.h"
#include "workflow/workflow_host.h"

namespace aether::workflow::internal {

class LogIntake;

// The ids of the last `capacity` events handled, to skip one delivered
// again (at-least-once: its acknowledgement was lost). Not thread-safe.
class RecentIds {
 public:
  explicit RecentIds(size_t capacity) : capacity_(capacity) {}
  bool Contains(const std::string& id) const { return set_.contains(id); }
  void Add(const std::string& id);

 private:
  size_t capacity_;
  std::deque<std::string> order_;
  std::unordered_set<std::string> set_;
};

// Counts and limits lines per instance: a burst of 100, then 20 per second.
class LogLimiter {
 public:
  explicit LogLimiter(Clock& clock) : clock_(clock) {}
  // True when a line may be written; `suppressed` gets the lines skipped
  // since the last one written.
  bool Allow(int64_t* suppressed);

 private:
  Clock& clock_;
  std::mutex mu_;
  double tokens_ = 100;
  Clock::TimePoint last_{};
  int64_t suppressed_ = 0;
};

class Actor : public Runnable, public std::enable_shared_from_this<Actor> {
 public:
  enum class State { kStarting, kRunning, kRestarting, kFailed };
  static std::string_view StateName(State s);

  Actor(Core& core, InstanceAssignment assignment);
  ~Actor() override;

  const std::string& id() const { return id_; }
  const std::string& workflow() const { return workflow_; }
  // The workflow with its incarnation (fixed for the actor's life: another
  // incarnation is another actor): names its stream and buckets.
  WorkflowRef workflow_ref() const { return {workflow_, incarnation_}; }
  const std::string& component() const { return component_; }
  // This instance's index, and the source its events carry (source_ref.h).
  uint32_t index() const { return index_; }
  const std::string& source_ref() const { return source_ref_; }
  // At-least-once (its workflow's delivery; fixed for the actor's life):
  // casts to and from it go through the log (Core::AppendFrom), its events
  // come from its LogIntake and are settled once handled.
  bool logged() const { return logged_; }
  InstanceAssignment assignment() const;
  State state() const;

  // Delivery. A full mailbox holds the sender until an event is taken or
  // `wait_until` (kNoWait: not at all); still full then: ResourceExhausted
  // (not counted here: the caller knows whether it is a drop or a refusal).
  // Unavailable when stopped or failed. Call: `reply` gets the result
  // exactly once (possibly before Call returns); the caller enforces
  // `deadline` itself (an expired call is skipped when dequeued). A caller
  // that may wait on a pool worker holds a Pool::Blocking (Core does).
  virtual Status Cast(std::string_view source, std::string_view payload, WaitUntil wait_until);
  virtual void Call(std::string_view source, std::string_view payload, Clock::TimePoint deadline,
                    ReplyFn reply, WaitUntil wait_until);
  // For targets that can answer a blocking caller on its own thread
  // (resources): the reply, or nullopt to go through the mailbox.
  virtual std::optional<Result<CallReply>> DirectCall(std::string_view /*source*/,
                                                      std::string_view /*payload*/,
                                                      std::chrono::milliseconds /*timeout*/) {
    return std::nullopt;
  }

  // For LogIntake: free mailbox slots (0 while events are refused); a wait
  // until one frees or `until`; the push of a delivered event (moved from
  // `d` only when queued; errors as for Cast).
  size_t Room() const;
  void WaitForRoom(WaitUntil until);
  Status Offer(std::unique_ptr<LogDelivery>& d, WaitUntil wait_until);

  // Lifecycle (asynchronous; the pool does the work).
  void Start();
  void Reconfigure(InstanceAssignment assignment);  // restart with a new assignment
  void RequestStop();
  bool stopped() const;

  void SetWiring(std::shared_ptr<const Wiring> wiring);
  std::shared_ptr<const Wiring> wiring() const;

  InstanceStatus Snapshot() const;
  struct Counts {
    int64_t events = 0, failures = 0, restarts = 0, dropped = 0;
    int64_t refused = 0;     // events an http-ingress refused (its client got 503)
    int64_t waited = 0;      // sends of this instance held for room downstream
    int64_t duplicates = 0;  // at-least-once events skipped: handled here already
    int64_t given_up = 0;    // at-least-once events whose every attempt failed
  };
  Counts counts() const;

  // For the router, host functions and resources.
  void CountDropped() { dropped_.fetch_add(1, std::memory_order_relaxed); }
  void CountRefused() { refused_.fetch_add(1, std::memory_order_relaxed); }
  void CountWaited() { waited_.fetch_add(1, std::memory_order_relaxed); }
  // A send of this instance dropped by a full link to another node (it
  // waited send_wait): in its status and in counts().dropped, so in
  // aether_dataplane_dropped_total. Drops after the link took an event
  // (unreachable peer...) reach that total from the network side instead
  // (WorkflowHost::AddDataplaneDropped).
  void CountLinkDropped() { link_dropped_.fetch_add(1, std::memory_order_relaxed); }
  void ReportFailure(std::string_view message);
  void SetTelemetry(std::string_view name, double value);
  void GuestLog(int level, std::string_view message);

  void Run() final;  // Runnable: on a pool worker

 protected:
  enum class Outcome { kOk, kFailed, kTrapped };
  struct Failure {
    std::string trap;  // TrapName for kTrapped
    std::string message;
  };

  // Creates the instance (on the pool worker). An error: NotFound or
  // Unavailable = not yet (stay "starting", retry soon); any other = "failed"
  // (retry slowly). `trapped` set = a trap in initialization (restart with
  // backoff like a trap in a handler).
  virtual Status StartInstance(const InstanceAssignment& a, Failure* trapped) = 0;
  // Handles one event; for a call `reply` is the answer on kOk.
  virtual Outcome Handle(Event& e, CallReply* reply, Failure* failure) = 0;
  // Destroys the instance; `graceful`: say goodbye first (handle_stop).
  virtual void StopInstance(bool graceful) = 0;
  // Applies a changed assignment to the running instance in place (a
  // portal's new address keeps the casts it holds); false: it is stopped
  // and started again. `old` is the running one's.
  virtual bool UpdateInstance(const InstanceAssignment& /*old*/, const InstanceAssignment& /*a*/) {
    return false;
  }
  // False for actors that take no events (http-ingress).
  virtual bool accepts_events() const { return true; }

  Core& core_;

 private:
  enum class Phase { kStartDue, kWaiting, kRunning, kStopped };

  bool ScheduleLocked();  // true: the caller submits to the pool after unlocking
  // Why an event cannot be queued now (stopping, failed...), or OK.
  Status RefusalLocked() const;
  // Pushes, waiting for room until `wait_until`; `lock` holds mu_.
  Status PushLocked(std::unique_lock<std::mutex>& lock, std::string_view source,
                    std::string_view payload, ReplyFn* reply, Clock::TimePoint deadline,
                    WaitUntil wait_until, std::unique_ptr<LogDelivery>* delivery = nullptr);
  void StartRetryLocked(std::chrono::milliseconds delay);
  void OnStartError(const Status& st);
  void OnTrap(const Failure& f);
  void Process(Event& e, bool* trapped);
  // Acknowledges, or asks the log for another attempt, or gives up.
  void Settle(Event& e, Outcome o);
  // Events that will not be handled here: calls answered `why`, logged
  // events handed back to the log at once (another instance may take them).
  void Reject(std::vector<Event>& events, const Status& why);
  void SetStateLocked(State s, std::string error);
  void FinishStop();

  const std::string id_, workflow_, component_;
  const uint32_t index_;
  const std::string source_ref_;
  const int64_t incarnation_;
  const bool logged_;

  mutable std::mutex mu_;  // guards the fields below up to `wiring_mu_`
  InstanceAssignment assignment_;
  std::optional<InstanceAssignment> next_assignment_;
  Mailbox mailbox_;
  RoomWaiter room_;  // a slot freed, or the actor stops or fails
  Phase phase_ = Phase::kStartDue;
  State state_ = State::kStarting;
  std::string last_error_;
  bool scheduled_ = false;
  bool stop_requested_ = false;
  bool started_ = false;     // Start() called
  uint64_t generation_ = 0;  // invalidates pending retry timers
  std::chrono::milliseconds start_backoff_{0};
  std::chrono::milliseconds restart_backoff_{0};
  Clock::TimePoint last_trap_{};  // on core_.clock()
  std::map<std::string, double, std::less<>> telemetry_;
  std::unique_ptr<LogIntake> intake_;  // logged actors, from Start to FinishStop

  mutable std::mutex wiring_mu_;
  std::shared_ptr<const Wiring> wiring_;

  std::atomic<int64_t> events_{0}, failures_{0}, restarts_{0}, dropped_{0}, link_dropped_{0},
      refused_{0}, waited_{0}, duplicates_{0}, given_up_{0};
  bool live_ = false;  // an instance exists; pool worker only
  Event current_;      // the event being handled; pool worker only
  RecentIds recent_;   // logged actors; pool worker only
  LogLimiter log_limiter_;
};

}  // namespace aether::workflow::internal
