#include "workflow/internal/core.h"

#include <boost/json.hpp>
#include <optional>
#include <utility>

#include "common/json_util.h"
#include "protocol/event.h"
#include "protocol/ids.h"
#include "workflow/internal/actor.h"
#include "workflow/internal/event_ids.h"

namespace aether::workflow::internal {

namespace {

// Calls `fn` once: the reply or the deadline, whichever comes first.
struct ReplyOnce {
  explicit ReplyOnce(ReplyFn f) : fn(std::move(f)) {}
  void operator()(Result<CallReply> r) {
    if (done.exchange(true, std::memory_order_acq_rel)) return;
    ReplyFn f = std::move(fn);
    f(std::move(r));
  }
  std::atomic<bool> done{false};
  ReplyFn fn;
};

// A blocking caller's rendezvous with the reply.
struct Waiter {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<Result<CallReply>> result;
};

Result<const Route*> FindRoute(const Wiring* w, std::string_view output, const std::string& from) {
  if (w != nullptr) {
    auto it = w->find(output);
    if (it != w->end() && !it->second.targets.empty()) return &it->second;
  }
  return NotFound("output \"" + std::string(output) + "\" of " + from + " is not mapped");
}

// The route's round robin pick, or the target that is `instance`.
Result<const Target*> PickTarget(const Route& route, std::string_view output,
                                 std::string_view instance) {
  if (instance.empty()) return &route.Pick();
  for (const Target& t : route.targets) {
    if (t.where.instance == instance) return &t;
  }
  return NotFound(std::string(instance) + " is not among the targets of output \"" +
                  std::string(output) + "\" (it stopped or moved)");
}

// A one-off piece of work on the pool; `dropped` runs if it never does.
class Task : public Runnable {
 public:
  Task(std::function<void()> fn, std::function<void()> dropped)
      : fn_(std::move(fn)), dropped_(std::move(dropped)) {}
  ~Task() override {
    if (fn_ && dropped_) dropped_();
  }
  void Run() override {
    std::function<void()> fn = std::move(fn_);
    fn_ = nullptr;
    fn();
  }

 private:
  std::function<void()> fn_, dropped_;
};

}  // namespace

int32_t GuestErrorCode(const Status& st) {
  switch (st.code()) {
    case Code::kOk:
      return 0;
    case Code::kResourceExhausted:
      return -2;  // AETHER_EFULL
    case Code::kDeadlineExceeded:
      return -3;  // AETHER_ETIMEOUT
    default:
      return -4;  // AETHER_EFAILED
  }
}

Core::Core(WorkflowHostOptions options)
    : options_(std::move(options)),
      remote_(options_.remote),
      timer_(*options_.clock),
      pool_(options_.threads) {}

Core::~Core() {
  pool_.Stop();
  timer_.Stop();
}

Status Core::Deliver(const Target& t, std::string_view source, std::string_view payload,
                     WaitUntil wait_until) {
  if (t.local != nullptr) return t.local->Cast(source, payload, wait_until);
  if (!t.remote) return Unavailable(t.where.instance + " does not run on this node");
  RemoteLink* link = remote();
  if (link == nullptr) return Unavailable("no link to node " + t.where.node_id);
  return link->Cast(t.where, source, payload, wait_until);
}

void Core::CallTo(const Target& t, std::string_view source, std::string_view payload,
                  std::chrono::milliseconds timeout, ReplyFn done) {
  if (t.local != nullptr) {
    auto once = std::make_shared<ReplyOnce>(std::move(done));
    auto deadline = clock().Deadline(timeout);
    uint64_t timer_id = timer_.At(deadline, [once, id = t.where.instance, timeout] {
      (*once)(DeadlineExceeded("no reply from " + id + " within " +
                               std::to_string(timeout.count()) + " ms"));
    });
    // An answered call drops its deadline at once: at 100k+ calls/s, entries
    // kept until their (seconds away) deadlines would hold hundreds of MB.
    // Replies come from actors, which the Core outlives.
    t.local->Call(
        source, payload, deadline,
        [once, timer = &timer_, timer_id](Result<CallReply> r) {
          timer->Cancel(timer_id);
          (*once)(std::move(r));
        },
        kNoWait);
    return;
  }
  if (!t.remote) {
    done(Unavailable(t.where.instance + " does not run on this node"));
    return;
  }
  RemoteLink* link = remote();
  if (link == nullptr) {
    done(Unavailable("no link to node " + t.where.node_id));
    return;
  }
  link->Call(t.where, source, payload, timeout, std::move(done));
}

void Core::Post(std::function<void()> fn, std::function<void()> dropped) {
  pool_.Submit(std::make_shared<Task>(std::move(fn), std::move(dropped)));
}

Status Core::AppendFrom(Actor& from, std::string_view output, std::string_view payload,
                        WaitUntil deadline, std::string event_id, bool at_edge) {
  std::shared_ptr<const Wiring> w = from.wiring();
  // The log hands the event to whichever instance of the component fetches
  // it: the output's component is all it needs, also while none is placed.
  const Route* route = nullptr;
  if (w != nullptr) {
    auto it = w->find(output);
    if (it != w->end()) route = &it->second;
  }
  std::string_view component = route != nullptr ? std::string_view(route->component) : "";
  if (route != nullptr && component.empty() && !route->targets.empty()) {
    std::optional<protocol::InstanceIdParts> to =
        protocol::ParseInstanceId(route->targets.front().where.instance);
    if (to) component = to->component;
  }
  if (component.empty()) {
    return NotFound("output \"" + std::string(output) + "\" of " + from.id() + " is not mapped");
  }
  return AppendTo(from, component, payload, deadline, std::move(event_id), at_edge);
}

Status Core::AppendTo(Actor& from, std::string_view component, std::string_view payload,
                      WaitUntil deadline, std::string event_id, bool at_edge) {
  EventLog* log = options_.event_log.get();
  if (log == nullptr) return FailedPrecondition("this engine has no event log ([nats] urls)");
  LogEvent event{event_id.empty() ? RandomEventId() : std::move(event_id), from.component(),
                 std::string(payload)};
  Pool::Blocking blocking(pool_);  // a round trip to the log: others keep their threads
  Status st = log->Append(from.workflow_ref(), component, event, deadline);
  if (st.code() == Code::kNotFound) {  // the first event of this workflow on the log
    st = log->EnsureWorkflow(from.workflow_ref());
    if (st.ok()) st = log->Append(from.workflow_ref(), component, event, deadline);
  }
  if (st.ok()) return st;
  if (at_edge) {
    from.CountRefused();
  } else {
    from.CountLinkDropped();
  }
  return st;
}

Status Core::CastFrom(Actor& from, std::string_view output, std::string_view payload,
                      WaitUntil wait_until, bool at_edge, std::string_view instance) {
  if (from.logged()) {
    return AppendFrom(from, output, payload,
                      std::chrono::steady_clock::now() + options_.log_append_timeout, "", at_edge);
  }
  std::shared_ptr<const Wiring> w = from.wiring();
  Result<const Route*> route = FindRoute(w.get(), output, from.id());
  if (!route.ok()) return route.status();
  Result<const Target*> picked = PickTarget(**route, output, instance);
  if (!picked.ok()) return picked.status();
  const Target& t = **picked;
  // First without waiting: the common case takes no pool lock.
  Status st = Deliver(t, from.source_ref(), payload, kNoWait);
  // An instance never waits for room in its own mailbox: only it drains it.
  if (st.code() == Code::kResourceExhausted && t.local.get() != &from &&
      std::chrono::steady_clock::now() < wait_until) {
    from.CountWaited();
    Pool::Blocking blocking(pool_);  // other actors keep a thread while this one waits
    st = Deliver(t, from.source_ref(), payload, wait_until);
  }
  if (st.code() != Code::kResourceExhausted) return st;
  // Who counts a send that found no room: the edge refused it (its client
  // knows); a full local mailbox counts on its instance; a full link to
  // another node counts on this sender.
  if (at_edge) {
    from.CountRefused();
  } else if (t.local != nullptr) {
    t.local->CountDropped();
  } else {
    from.CountLinkDropped();
    if (RemoteLink* link = remote()) link->CountSendDropped(t.where);
  }
  return st;
}

void Core::CallFrom(Actor& from, std::string_view output, std::string_view payload,
                    std::chrono::milliseconds timeout, ReplyFn done) {
  std::shared_ptr<const Wiring> w = from.wiring();
  Result<const Route*> route = FindRoute(w.get(), output, from.id());
  if (!route.ok()) {
    done(route.status());
    return;
  }
  CallTo((*route)->Pick(), from.source_ref(), payload, timeout, std::move(done));
}

Result<CallReply> Core::CallFromBlocking(Actor& from, std::string_view output,
                                         std::string_view payload,
                                         std::chrono::milliseconds timeout,
                                         std::string_view instance) {
  std::shared_ptr<const Wiring> w = from.wiring();
  Result<const Route*> route = FindRoute(w.get(), output, from.id());
  if (!route.ok()) return route.status();
  Result<const Target*> picked = PickTarget(**route, output, instance);
  if (!picked.ok()) return picked.status();
  const Target& t = **picked;
  Pool::Blocking blocking(pool_);  // other actors keep their threads meanwhile
  if (t.local != nullptr) {
    std::optional<Result<CallReply>> direct =
        t.local->DirectCall(from.component(), payload, timeout);
    if (direct) return std::move(*direct);
  } else if (RemoteLink* link = t.remote ? remote() : nullptr) {
    std::optional<Result<CallReply>> here =
        link->CallOnThisThread(t.where, from.source_ref(), payload, timeout);
    if (here) return std::move(*here);
  }
  auto waiter = std::make_shared<Waiter>();
  ReplyFn reply = [waiter](Result<CallReply> r) {
    std::lock_guard lock(waiter->mu);
    if (!waiter->result) waiter->result.emplace(std::move(r));
    waiter->cv.notify_one();
  };
  auto deadline = clock().Deadline(timeout);
  if (t.local != nullptr) {
    auto wait = std::chrono::steady_clock::now() + std::min(options_.send_wait, timeout);
    t.local->Call(from.source_ref(), payload, deadline, std::move(reply), wait);
  } else {
    CallTo(t, from.source_ref(), payload, timeout, std::move(reply));
  }
  std::unique_lock lock(waiter->mu);
  if (!clock().WaitUntil(lock, waiter->cv, deadline, [&] { return waiter->result.has_value(); })) {
    return DeadlineExceeded("no reply from " + t.where.instance + " within " +
                            std::to_string(timeout.count()) + " ms");
  }
  return std::move(*waiter->result);
}

void Core::PostEvent(std::string_view type, boost::json::object data) {
  if (!options_.post_event) return;
  options_.post_event(protocol::EncodeEventPost(type, data));
}

void Core::StateChanged() {
  if (options_.status_changed) options_.status_changed();
}

void Core::ActorCreated() {
  std::lock_guard lock(live_mu_);
  ++live_actors_;
}

void Core::ActorStopped() {
  std::lock_guard lock(live_mu_);
  if (--live_actors_ == 0) live_cv_.notify_all();
}

bool Core::WaitAllStopped(std::chrono::milliseconds timeout) {
  std::unique_lock lock(live_mu_);
  return live_cv_.wait_for(lock, timeout, [&] { return live_actors_ <= 0; });
}

}  // namespace aether::workflow::internal
