#include "workflow/internal/actor.h"

#include <algorithm>
#include <utility>

#include "common/log.h"
#include "protocol/ids.h"
#include "workflow/internal/log_intake.h"
#include "workflow/internal/source_ref.h"

namespace aether::workflow::internal {

namespace {

using std::chrono::milliseconds;

constexpr int kBatch = 64;  // events per turn on a worker, then the actor re-queues
constexpr size_t kMaxTelemetry = 32;
constexpr size_t kMaxLogLine = 4096;
// Ids of handled at-least-once events an instance remembers: its dedup window.
constexpr size_t kRecentIds = 8192;
// At most this many at-least-once events wait in a mailbox: each must be
// handled within the log's ack wait of its delivery, or it is delivered
// again elsewhere (docs/workflows.md, "Delivery").
constexpr size_t kLoggedWindow = 128;
// An at-least-once event that failed is attempted again after 100 ms,
// doubling to 10 s per attempt.
constexpr milliseconds kRetryFirst{100}, kRetryMax{10000};

// Backoffs (docs/workflow-protocol.md): a trap restarts after 100 ms doubling
// to 10 s, reset after 30 s without a trap. A module that is not on the node
// yet is retried soon; one that cannot start at all, slowly.
constexpr milliseconds kRestartFirst{100}, kRestartMax{10000};
constexpr auto kRestartReset = std::chrono::seconds(30);
constexpr milliseconds kWaitFirst{200}, kWaitMax{5000};
constexpr milliseconds kFailedFirst{5000}, kFailedMax{60000};

milliseconds NextBackoff(milliseconds current, milliseconds first, milliseconds max) {
  return current.count() == 0 ? first : std::min(current * 2, max);
}

// The index in "<workflow>/<component>/<index>" (0 for an id that has none).
uint32_t IndexOf(std::string_view instance_id) {
  std::optional<protocol::InstanceIdParts> p = protocol::ParseInstanceId(instance_id);
  return p && p->index > 0 ? static_cast<uint32_t>(p->index) : 0;
}

}  // namespace

void RecentIds::Add(const std::string& id) {
  if (capacity_ == 0 || !set_.insert(id).second) return;
  order_.push_back(id);
  if (order_.size() > capacity_) {
    set_.erase(order_.front());
    order_.pop_front();
  }
}

bool LogLimiter::Allow(int64_t* suppressed) {
  std::lock_guard lock(mu_);
  auto now = clock_.Now();
  if (last_ != Clock::TimePoint{}) {
    tokens_ = std::min(100.0, tokens_ + std::chrono::duration<double>(now - last_).count() * 20);
  }
  last_ = now;
  if (tokens_ < 1) {
    ++suppressed_;
    return false;
  }
  tokens_ -= 1;
  *suppressed = std::exchange(suppressed_, 0);
  return true;
}

std::string_view Actor::StateName(State s) {
  switch (s) {
    case State::kStarting:
      return "starting";
    case State::kRunning:
      return "running";
    case State::kRestarting:
      return "restarting";
    case State::kFailed:
      return "failed";
  }
  return "starting";
}

Actor::Actor(Core& core, InstanceAssignment assignment)
    : core_(core),
      id_(assignment.id),
      workflow_(assignment.workflow),
      component_(assignment.component),
      index_(IndexOf(assignment.id)),
      source_ref_(SourceRef(component_, index_)),
      incarnation_(assignment.incarnation),
      logged_(assignment.delivery == protocol::Delivery::kAtLeastOnce),
      assignment_(std::move(assignment)),
      mailbox_(core.options().mailbox_length),
      recent_(logged_ ? kRecentIds : 0),
      log_limiter_(core.clock()) {
  core_.ActorCreated();
}

Actor::~Actor() = default;

InstanceAssignment Actor::assignment() const {
  std::lock_guard lock(mu_);
  return next_assignment_ ? *next_assignment_ : assignment_;
}

Actor::State Actor::state() const {
  std::lock_guard lock(mu_);
  return state_;
}

bool Actor::stopped() const {
  std::lock_guard lock(mu_);
  return phase_ == Phase::kStopped;
}

bool Actor::ScheduleLocked() {
  if (scheduled_ || !started_ || phase_ == Phase::kStopped) return false;
  scheduled_ = true;
  return true;
}

Status Actor::RefusalLocked() const {
  if (stop_requested_ || phase_ == Phase::kStopped) return Unavailable(id_ + " is stopping");
  if (!accepts_events()) return Unavailable(id_ + " takes no events");
  if (state_ == State::kFailed) return Unavailable(id_ + " failed: " + last_error_);
  return OkStatus();
}

Status Actor::PushLocked(std::unique_lock<std::mutex>& lock, std::string_view source,
                         std::string_view payload, ReplyFn* reply, Clock::TimePoint deadline,
                         WaitUntil wait_until, std::unique_ptr<LogDelivery>* delivery) {
  return room_.Wait(
      lock, wait_until,
      [&]() -> std::optional<Status> {
        if (Status refusal = RefusalLocked(); !refusal.ok()) return refusal;
        if (mailbox_.Push(source, payload, reply, deadline, delivery)) return OkStatus();
        return std::nullopt;
      },
      [&] { return ResourceExhausted("the mailbox of " + id_ + " is full"); });
}

Status Actor::Cast(std::string_view source, std::string_view payload, WaitUntil wait_until) {
  bool submit = false;
  {
    std::unique_lock lock(mu_);
    RETURN_IF_ERROR(PushLocked(lock, source, payload, nullptr, {}, wait_until));
    submit = phase_ == Phase::kRunning && ScheduleLocked();
  }
  if (submit) core_.pool().Submit(shared_from_this());
  return OkStatus();
}

void Actor::Call(std::string_view source, std::string_view payload, Clock::TimePoint deadline,
                 ReplyFn reply, WaitUntil wait_until) {
  bool submit = false;
  Status error;
  {
    std::unique_lock lock(mu_);
    error = PushLocked(lock, source, payload, &reply, deadline, wait_until);
    if (error.ok()) submit = phase_ == Phase::kRunning && ScheduleLocked();
  }
  if (!error.ok()) {
    reply(std::move(error));
    return;
  }
  if (submit) core_.pool().Submit(shared_from_this());
}

size_t Actor::Room() const {
  std::lock_guard lock(mu_);
  if (!RefusalLocked().ok()) return 0;
  size_t window = std::min(mailbox_.capacity(), kLoggedWindow);
  return mailbox_.size() >= window ? 0 : window - mailbox_.size();
}

void Actor::WaitForRoom(WaitUntil until) {
  std::unique_lock lock(mu_);
  (void)room_.Wait(
      lock, until,
      [&]() -> std::optional<Status> {
        if (mailbox_.size() < std::min(mailbox_.capacity(), kLoggedWindow) || stop_requested_) {
          return OkStatus();
        }
        return std::nullopt;
      },
      [] { return OkStatus(); });
}

Status Actor::Offer(std::unique_ptr<LogDelivery>& d, WaitUntil wait_until) {
  bool submit = false;
  {
    std::unique_lock lock(mu_);
    // The views stay valid: Push copies them before it moves `d`.
    const LogEvent& e = d->event();
    RETURN_IF_ERROR(PushLocked(lock, e.source, e.payload, nullptr, {}, wait_until, &d));
    submit = phase_ == Phase::kRunning && ScheduleLocked();
  }
  if (submit) core_.pool().Submit(shared_from_this());
  return OkStatus();
}

void Actor::Start() {
  bool submit = false;
  {
    std::lock_guard lock(mu_);
    started_ = true;
    submit = ScheduleLocked();
    if (logged_ && accepts_events() && intake_ == nullptr && !stop_requested_ &&
        core_.options().event_log != nullptr) {
      intake_ = std::make_unique<LogIntake>(core_.options().event_log, shared_from_this());
    }
  }
  if (submit) core_.pool().Submit(shared_from_this());
}

void Actor::Reconfigure(InstanceAssignment assignment) {
  bool submit = false;
  {
    std::lock_guard lock(mu_);
    if (stop_requested_) return;
    next_assignment_ = std::move(assignment);
    submit = ScheduleLocked();
  }
  if (submit) core_.pool().Submit(shared_from_this());
}

void Actor::RequestStop() {
  bool submit = false;
  {
    std::lock_guard lock(mu_);
    if (stop_requested_) return;
    stop_requested_ = true;
    started_ = true;
    submit = ScheduleLocked();
    room_.NotifyAll();  // held senders give up now
  }
  if (submit) core_.pool().Submit(shared_from_this());
}

void Actor::SetWiring(std::shared_ptr<const Wiring> wiring) {
  std::lock_guard lock(wiring_mu_);
  wiring_ = std::move(wiring);
}

std::shared_ptr<const Wiring> Actor::wiring() const {
  std::lock_guard lock(wiring_mu_);
  return wiring_;
}

Actor::Counts Actor::counts() const {
  Counts c;
  c.events = events_.load(std::memory_order_relaxed);
  c.failures = failures_.load(std::memory_order_relaxed);
  c.restarts = restarts_.load(std::memory_order_relaxed);
  c.dropped =
      dropped_.load(std::memory_order_relaxed) + link_dropped_.load(std::memory_order_relaxed);
  c.refused = refused_.load(std::memory_order_relaxed);
  c.waited = waited_.load(std::memory_order_relaxed);
  c.duplicates = duplicates_.load(std::memory_order_relaxed);
  c.given_up = given_up_.load(std::memory_order_relaxed);
  return c;
}

InstanceStatus Actor::Snapshot() const {
  InstanceStatus s;
  s.id = id_;
  Counts c = counts();
  s.events = c.events;
  s.failures = c.failures;
  s.restarts = c.restarts;
  s.dropped = c.dropped;
  std::lock_guard lock(mu_);
  s.state = std::string(StateName(state_));
  s.last_error = last_error_;
  s.telemetry.insert(telemetry_.begin(), telemetry_.end());
  return s;
}

void Actor::ReportFailure(std::string_view message) {
  failures_.fetch_add(1, std::memory_order_relaxed);
  int64_t suppressed = 0;
  if (log_limiter_.Allow(&suppressed)) {
    LOG_WARN("workflow instance {}: {} ({} similar lines suppressed)", id_, message, suppressed);
  }
}

void Actor::SetTelemetry(std::string_view name, double value) {
  std::lock_guard lock(mu_);
  auto it = telemetry_.find(name);
  if (it != telemetry_.end()) {
    it->second = value;
  } else if (telemetry_.size() < kMaxTelemetry) {
    telemetry_.emplace(std::string(name), value);
  }
}

void Actor::GuestLog(int level, std::string_view message) {
  int64_t suppressed = 0;
  if (!log_limiter_.Allow(&suppressed)) return;
  if (message.size() > kMaxLogLine) message = message.substr(0, kMaxLogLine);
  while (!message.empty() && (message.back() == '\n' || message.back() == '\r')) {
    message.remove_suffix(1);
  }
  if (suppressed > 0) LOG_WARN("[{}] {} log lines suppressed", id_, suppressed);
  switch (level) {
    case 0:
      LOG_DEBUG("[{}] {}", id_, message);
      break;
    case 1:
      LOG_INFO("[{}] {}", id_, message);
      break;
    case 2:
      LOG_WARN("[{}] {}", id_, message);
      break;
    default:
      LOG_ERROR("[{}] {}", id_, message);
      break;
  }
}

void Actor::SetStateLocked(State s, std::string error) {
  state_ = s;
  last_error_ = std::move(error);
}

void Actor::StartRetryLocked(milliseconds delay) {
  phase_ = Phase::kWaiting;
  uint64_t gen = generation_;
  std::weak_ptr<Actor> weak = weak_from_this();
  core_.timer().After(delay, [weak, gen] {
    std::shared_ptr<Actor> self = weak.lock();
    if (self == nullptr) return;
    bool submit = false;
    {
      std::lock_guard lock(self->mu_);
      if (self->generation_ != gen || self->phase_ != Phase::kWaiting) return;
      self->phase_ = Phase::kStartDue;
      submit = self->ScheduleLocked();
    }
    if (submit) self->core_.pool().Submit(self);
  });
}

void Actor::OnStartError(const Status& st) {
  bool transient = st.code() == Code::kNotFound || st.code() == Code::kUnavailable;
  bool report = false;
  std::vector<Event> rejected;
  {
    std::lock_guard lock(mu_);
    if (transient) {
      start_backoff_ = NextBackoff(start_backoff_, kWaitFirst, kWaitMax);
      SetStateLocked(State::kStarting, st.message());
    } else {
      // Reset when coming from a transient error: a failure is retried slowly.
      if (state_ != State::kFailed) start_backoff_ = milliseconds(0);
      start_backoff_ = NextBackoff(start_backoff_, kFailedFirst, kFailedMax);
      report = state_ != State::kFailed || last_error_ != st.message();
      SetStateLocked(State::kFailed, st.message());
      rejected = mailbox_.TakeAll();  // nobody will handle them soon
      room_.NotifyAll();              // and held senders are refused
    }
    StartRetryLocked(start_backoff_);
  }
  Reject(rejected, Unavailable(id_ + " failed: " + st.message()));
  if (report) {
    LOG_WARN("workflow instance {} cannot start: {}", id_, st.message());
    core_.PostEvent("instance_failed", {{"workflow", workflow_},
                                        {"instance", id_},
                                        {"node_id", core_.options().node_id},
                                        {"message", st.message()}});
  }
  core_.StateChanged();
}

void Actor::OnTrap(const Failure& f) {
  failures_.fetch_add(1, std::memory_order_relaxed);
  int64_t restarts = restarts_.fetch_add(1, std::memory_order_relaxed) + 1;
  milliseconds backoff;
  {
    std::lock_guard lock(mu_);
    auto now = core_.clock().Now();
    if (last_trap_ != Clock::TimePoint{} && now - last_trap_ > kRestartReset) {
      restart_backoff_ = milliseconds(0);
    }
    last_trap_ = now;
    restart_backoff_ = NextBackoff(restart_backoff_, kRestartFirst, kRestartMax);
    backoff = restart_backoff_;
    SetStateLocked(State::kRestarting, f.trap + ": " + f.message);
    StartRetryLocked(backoff);
  }
  LOG_WARN("workflow instance {} trapped ({}: {}); restart #{} in {} ms", id_, f.trap, f.message,
           restarts, backoff.count());
  core_.PostEvent("instance_trap", {{"workflow", workflow_},
                                    {"instance", id_},
                                    {"node_id", core_.options().node_id},
                                    {"trap", f.trap},
                                    {"message", f.message},
                                    {"restarts", restarts}});
  core_.StateChanged();
}

void Actor::Reject(std::vector<Event>& events, const Status& why) {
  for (Event& e : events) {
    if (e.reply) e.reply(why);
    if (e.delivery != nullptr) {
      Status st = e.delivery->Nak(milliseconds(0));
      if (!st.ok()) ReportFailure("cannot hand an event back to the log: " + st.message());
    }
  }
}

void Actor::Settle(Event& e, Outcome o) {
  std::unique_ptr<LogDelivery> d = std::move(e.delivery);
  const std::string& event_id = d->event().id;
  Status st;
  if (o == Outcome::kOk) {
    recent_.Add(event_id);
    st = d->Ack();
  } else if (d->attempt() < static_cast<uint64_t>(std::max(core_.options().max_deliveries, 1))) {
    milliseconds delay = kRetryFirst;
    for (uint64_t i = 1; i < d->attempt() && delay < kRetryMax; ++i) delay *= 2;
    st = d->Nak(std::min(delay, kRetryMax));
  } else {
    given_up_.fetch_add(1, std::memory_order_relaxed);
    ReportFailure("gave up on event " + event_id + " after " + std::to_string(d->attempt()) +
                  " attempts");
    core_.PostEvent("event_given_up", {{"workflow", workflow_},
                                       {"instance", id_},
                                       {"node_id", core_.options().node_id},
                                       {"event_id", event_id},
                                       {"attempts", d->attempt()}});
    st = d->Term();
  }
  // Not settled: the log delivers it again after its ack wait, and the
  // dedup window skips it here if it was handled.
  if (!st.ok()) ReportFailure("cannot settle event " + event_id + ": " + st.message());
}

void Actor::Process(Event& e, bool* trapped) {
  if (e.delivery != nullptr && recent_.Contains(e.delivery->event().id)) {
    duplicates_.fetch_add(1, std::memory_order_relaxed);
    Status st = e.delivery->Ack();
    if (!st.ok()) ReportFailure("cannot settle a repeated event: " + st.message());
    e.delivery.reset();
    return;
  }
  if (e.reply && core_.clock().Now() > e.deadline) {
    // The caller has given up already (its own timer answered it).
    e.reply(DeadlineExceeded("the call to " + id_ + " expired in its mailbox"));
    e.reply = nullptr;
    return;
  }
  CallReply reply;
  Failure f;
  Outcome o = Handle(e, &reply, &f);
  events_.fetch_add(1, std::memory_order_relaxed);
  switch (o) {
    case Outcome::kOk:
      if (e.reply) e.reply(std::move(reply));
      break;
    case Outcome::kFailed:
      ReportFailure(f.message);
      if (e.reply) e.reply(Internal(id_ + ": " + f.message));
      break;
    case Outcome::kTrapped:
      if (live_) {
        StopInstance(false);
        live_ = false;
      }
      OnTrap(f);  // before the reply: a caller then sees "restarting" and the counts
      if (e.reply) e.reply(Internal(id_ + " trapped: " + f.message));
      *trapped = true;
      break;
  }
  e.reply = nullptr;
  if (e.delivery != nullptr) Settle(e, o);
}

void Actor::FinishStop() {
  std::unique_ptr<LogIntake> intake;
  {
    std::lock_guard lock(mu_);
    intake = std::move(intake_);
  }
  if (intake != nullptr) intake->Stop();  // no more events from the log
  if (live_) {
    StopInstance(true);
    live_ = false;
  }
  std::vector<Event> pending;
  {
    std::lock_guard lock(mu_);
    pending = mailbox_.TakeAll();
    phase_ = Phase::kStopped;
    room_.NotifyAll();
    scheduled_ = false;
    ++generation_;
  }
  Reject(pending, Unavailable(id_ + " stopped"));
  core_.ActorStopped();
}

void Actor::Run() {
  std::unique_lock lock(mu_);
  if (stop_requested_) {
    lock.unlock();
    FinishStop();
    return;
  }
  if (next_assignment_) {
    InstanceAssignment a = std::move(*next_assignment_);
    next_assignment_.reset();
    InstanceAssignment old = assignment_;
    lock.unlock();
    bool updated = live_ && UpdateInstance(old, a);
    if (live_ && !updated) {
      StopInstance(true);
      live_ = false;
    }
    lock.lock();
    assignment_ = std::move(a);
    if (!updated) {
      ++generation_;
      phase_ = Phase::kStartDue;
      start_backoff_ = restart_backoff_ = milliseconds(0);
      SetStateLocked(State::kStarting, "");
    }
  }
  if (phase_ == Phase::kStartDue && !stop_requested_ && !next_assignment_) {
    InstanceAssignment a = assignment_;
    lock.unlock();
    Failure trapped;
    Status st = logged_ && core_.options().event_log == nullptr
                    ? FailedPrecondition(
                          "the workflow's delivery is at-least-once, which needs NATS JetStream, "
                          "and this engine has none (set [nats] urls: docs/configuration.md)")
                    : StartInstance(a, &trapped);
    if (st.ok()) {
      live_ = true;
      {
        std::lock_guard l(mu_);
        phase_ = Phase::kRunning;
        start_backoff_ = milliseconds(0);
        SetStateLocked(State::kRunning, "");
      }
      core_.StateChanged();
    } else if (!trapped.trap.empty()) {
      OnTrap(trapped);
    } else {
      OnStartError(st);
    }
    lock.lock();
  }
  if (phase_ == Phase::kRunning) {
    for (int i = 0; i < kBatch && !stop_requested_ && !next_assignment_ && mailbox_.Pop(current_);
         ++i) {
      room_.NotifyOne();  // one slot, one held sender
      lock.unlock();
      bool trapped = false;
      Process(current_, &trapped);
      lock.lock();
      if (trapped) break;
    }
  }
  bool again = stop_requested_ || next_assignment_ || phase_ == Phase::kStartDue ||
               (phase_ == Phase::kRunning && !mailbox_.empty());
  if (!again) {
    scheduled_ = false;
    return;
  }
  lock.unlock();
  core_.pool().Submit(shared_from_this());
}

}  // namespace aether::workflow::internal
