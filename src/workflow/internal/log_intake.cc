#include "workflow/internal/log_intake.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "workflow/internal/actor.h"

namespace aether::workflow::internal {

namespace {

using std::chrono::milliseconds;

constexpr size_t kMaxFetch = 64;          // events per fetch
constexpr milliseconds kFetchWait{1000};  // a fetch's longest wait for the first event
constexpr milliseconds kRoomWait{200};    // then the stop flag is looked at again
constexpr milliseconds kQueueWait{1000};  // for room the fetch saw but a call took
constexpr milliseconds kBackoffFirst{200}, kBackoffMax{5000};

}  // namespace

struct LogIntake::State {
  std::shared_ptr<EventLog> log;
  std::weak_ptr<Actor> actor;
  std::string workflow, component;
  int64_t incarnation = 0;
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  std::shared_ptr<LogSubscription> sub;  // guarded by mu (Stop closes it)

  bool stopping() {
    std::lock_guard lock(mu);
    return stop;
  }
  // Waits `d` or until Stop; false when stopping.
  bool Pause(milliseconds d) {
    std::unique_lock lock(mu);
    return !cv.wait_for(lock, d, [&] { return stop; });
  }
};

LogIntake::LogIntake(std::shared_ptr<EventLog> log, const std::shared_ptr<Actor>& actor)
    : state_(std::make_shared<State>()) {
  state_->log = std::move(log);
  state_->actor = actor;
  state_->workflow = actor->workflow();
  state_->component = actor->component();
  state_->incarnation = actor->workflow_ref().incarnation;
  thread_ = std::thread([s = state_] { Loop(s); });
}

LogIntake::~LogIntake() { Stop(); }

void LogIntake::Stop() {
  {
    std::lock_guard lock(state_->mu);
    state_->stop = true;
    if (state_->sub != nullptr) state_->sub->Close();
    state_->cv.notify_all();
  }
  if (!thread_.joinable()) return;
  if (thread_.get_id() == std::this_thread::get_id()) {
    thread_.detach();  // the last reference to the actor went away on this thread
  } else {
    thread_.join();
  }
}

void LogIntake::Loop(const std::shared_ptr<State>& s) {
  milliseconds backoff{0};
  auto fail = [&](std::string_view what, const Status& st) {
    if (std::shared_ptr<Actor> actor = s->actor.lock()) {
      actor->ReportFailure(std::string(what) + ": " + st.message());
    }
    backoff = backoff.count() == 0 ? kBackoffFirst : std::min(backoff * 2, kBackoffMax);
    return s->Pause(backoff);
  };
  std::shared_ptr<LogSubscription> sub;
  while (!s->stopping()) {
    if (sub == nullptr) {
      WorkflowRef workflow{s->workflow, s->incarnation};
      Status st = s->log->EnsureWorkflow(workflow);
      Result<std::unique_ptr<LogSubscription>> r =
          st.ok() ? s->log->Subscribe(workflow, s->component)
                  : Result<std::unique_ptr<LogSubscription>>(st);
      if (!r.ok()) {
        if (!fail("cannot subscribe to the event log", r.status())) break;
        continue;
      }
      sub = std::move(*r);
      std::lock_guard lock(s->mu);
      if (s->stop) break;
      s->sub = sub;
    }
    std::shared_ptr<Actor> actor = s->actor.lock();
    if (actor == nullptr) break;
    size_t room = actor->Room();
    if (room == 0) {
      actor->WaitForRoom(std::chrono::steady_clock::now() + kRoomWait);
      continue;
    }
    Result<std::vector<std::unique_ptr<LogDelivery>>> got =
        sub->Fetch(std::min(room, kMaxFetch), kFetchWait);
    if (!got.ok()) {
      if (s->stopping()) break;  // closed by Stop
      if (got.status().code() == Code::kNotFound) {
        // The stream or the consumer went away (deleted by an operator):
        // subscribe afresh, which creates them again.
        sub->Close();
        sub = nullptr;
        std::lock_guard lock(s->mu);
        s->sub = nullptr;
      }
      if (!fail("cannot fetch from the event log", got.status())) break;
      continue;
    }
    backoff = milliseconds(0);
    for (std::unique_ptr<LogDelivery>& d : *got) {
      Status st = actor->Offer(d, std::chrono::steady_clock::now() + kQueueWait);
      // Not queued (stopping, failed, full of calls): back to the log at
      // once, for another instance or a later fetch.
      if (!st.ok() && d != nullptr) (void)d->Nak(milliseconds(0));
    }
  }
  if (sub != nullptr) sub->Close();
}

}  // namespace aether::workflow::internal
