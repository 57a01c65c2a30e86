// What every instance of a host shares: the options, the pool, the timer,
// the table of local instances and the router (an output's targets, round
// robin, local mailbox vs RemoteLink).
#pragma once

#include <atomic>
#include <boost/json/object.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/timer.h"
#include "workflow/internal/pool.h"
#include "workflow/workflow_host.h"

namespace aether::workflow::internal {

class Actor;

// One target of an output, resolved when the outputs are (re)wired: `local`
// is the instance on this node, null for one on another node (RemoteLink)
// or a local one that does not run here (any delivery fails).
struct Target {
  OutputTarget where;
  std::shared_ptr<Actor> local;
  bool remote = false;
};

struct Route {
  std::vector<Target> targets;
  // The component the output leads to (at-least-once casts go to it, also
  // while `targets` is empty); "" from an older control plane.
  std::string component;
  mutable std::atomic<uint32_t> next{0};  // round robin

  const Target& Pick() const {
    uint32_t n = next.fetch_add(1, std::memory_order_relaxed);
    return targets[n % targets.size()];
  }
};

// An instance's outputs. Immutable once built; swapped whole on a rewire.
using Wiring = std::map<std::string, Route, std::less<>>;

constexpr size_t kMaxPayload = 1u << 20;

// Thread-safety: every method from any thread.
class Core {
 public:
  explicit Core(WorkflowHostOptions options);
  ~Core();

  const WorkflowHostOptions& options() const { return options_; }
  Pool& pool() { return pool_; }
  Timer& timer() { return timer_; }
  Clock& clock() const { return *options_.clock; }

  RemoteLink* remote() const { return remote_.load(std::memory_order_acquire); }
  void set_remote(RemoteLink* r) { remote_.store(r, std::memory_order_release); }

  // Routing from `from` through its output `output`, holding the sender
  // while the target is full until `wait_until` (see WaitUntil). NotFound
  // when the output is not mapped; ResourceExhausted when the chosen
  // target's mailbox or link is still full then: counted as dropped on the
  // target (a local one) or on `from` (a link), or with `at_edge` (an
  // http-ingress whose client is told) as refused on `from`; Unavailable
  // when the target does not run.
  // An at-least-once `from` appends instead (AppendFrom, within
  // log_append_timeout; `wait_until` does not apply). With `instance`, the
  // target is that instance of the output's (not the round robin's pick);
  // NotFound when it is not among them.
  // Events carry `from`'s source_ref() (source_ref.h).
  Status CastFrom(Actor& from, std::string_view output, std::string_view payload,
                  WaitUntil wait_until, bool at_edge = false, std::string_view instance = {});
  // At-least-once: appends the event, with `event_id` (empty: a random
  // one), to the log for the component `output` leads to; OK once the log
  // stored it, at the latest at `deadline`. Blocks (a Pool::Blocking
  // worker). A failure is counted on `from`: refused with `at_edge`, else
  // dropped (the guest hears it; the event was never accepted).
  Status AppendFrom(Actor& from, std::string_view output, std::string_view payload,
                    WaitUntil deadline, std::string event_id, bool at_edge = false);
  // The same to the log of `component` of `from`'s workflow, whichever
  // output leads there (an EDGELESS guest's cast to "self").
  Status AppendTo(Actor& from, std::string_view component, std::string_view payload,
                  WaitUntil deadline, std::string event_id, bool at_edge = false);
  // Runs `fn` on a pool worker; `dropped` instead if the pool stops first.
  void Post(std::function<void()> fn, std::function<void()> dropped);
  // Asynchronous: `done` gets the reply or the error, at the latest after
  // `timeout` (DeadlineExceeded). Never blocks.
  void CallFrom(Actor& from, std::string_view output, std::string_view payload,
                std::chrono::milliseconds timeout, ReplyFn done);
  // Blocking on the calling thread (a guest's aether.call, a resource's
  // ctx.call): at most `timeout`, of which at most send_wait for room in a
  // full local mailbox. A local resource target is called directly.
  // `instance` as for CastFrom.
  Result<CallReply> CallFromBlocking(Actor& from, std::string_view output, std::string_view payload,
                                     std::chrono::milliseconds timeout,
                                     std::string_view instance = {});

  void CallTo(const Target& t, std::string_view source, std::string_view payload,
              std::chrono::milliseconds timeout, ReplyFn done);

  // {"event": type, "data": data} to the control plane, if configured.
  void PostEvent(std::string_view type, boost::json::object data);
  void StateChanged();

  // Live actor accounting, for Stop() to wait until every instance stopped.
  void ActorCreated();
  void ActorStopped();
  bool WaitAllStopped(std::chrono::milliseconds timeout);

 private:
  // Delivery to one target, holding the caller while it is full until
  // `wait_until`. Counts nothing.
  Status Deliver(const Target& t, std::string_view source, std::string_view payload,
                 WaitUntil wait_until);

  const WorkflowHostOptions options_;
  std::atomic<RemoteLink*> remote_;
  Timer timer_;
  Pool pool_;
  std::mutex live_mu_;
  std::condition_variable live_cv_;
  int64_t live_actors_ = 0;
};

// The error for a failed delivery, as a guest sees it (AETHER_E*).
int32_t GuestErrorCode(const Status& st);

}  // namespace aether::workflow::internal
