// Feeds an at-least-once instance from its component's subscription on the
// event log (event_log.h): a thread that fetches as many events as the
// instance has room for and queues them in its mailbox, where the actor
// settles each once handled. The room is the credit: the log keeps what
// the instance cannot take yet (for another instance, or for later).
//
// Thread-safety: Stop from any thread but the intake's own, once or more.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "workflow/event_log.h"

namespace aether::workflow::internal {

class Actor;

class LogIntake {
 public:
  // Starts fetching for `actor` (kept as a weak reference) at once.
  LogIntake(std::shared_ptr<EventLog> log, const std::shared_ptr<Actor>& actor);
  ~LogIntake();  // Stop()
  LogIntake(const LogIntake&) = delete;
  LogIntake& operator=(const LogIntake&) = delete;

  // Closes the subscription (a Fetch in progress returns) and joins. Events
  // fetched and not queued yet go back to the log.
  void Stop();

 private:
  // What the thread uses, shared with it: if the last reference to the
  // actor goes away on the thread itself, it detaches and ends on its own.
  struct State;
  static void Loop(const std::shared_ptr<State>& s);

  std::shared_ptr<State> state_;
  std::thread thread_;
};

}  // namespace aether::workflow::internal
