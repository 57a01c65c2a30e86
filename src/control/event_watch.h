// Long-poll of the event log for people and tools that follow it (GET
// /api/events?since=&wait=: the dashboard's events page, `aether events
// --follow`): a request with nothing newer than `since` is parked (see
// long_poll.h) until any replica appends an event or its wait runs out;
// either way it is answered with a page of the log.
//
// Thread-safety: Page and Wait from any thread; Start/Stop from the
// controlling one.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "common/http_server.h"
#include "control/event_log.h"
#include "control/long_poll.h"
#include "control/store.h"

namespace aether::control {

inline constexpr std::chrono::seconds kMaxEventWait{60};

// What a page of GET /api/events asks for.
struct EventQuery {
  int64_t since = 0;
  std::string type;  // empty: every type
  int64_t limit = 100;
};

class EventWatch {
 public:
  // Followers are people and tools, not a fleet: past `max_waiters` parked
  // requests the next is answered at once.
  EventWatch(Store& store, EventLog& events, size_t max_waiters = 1000);
  ~EventWatch();

  void Start();
  // Answers every parked request and joins.
  void Stop();

  // The page at once: {"events": [...], "next": N}.
  HttpResponse Page(const EventQuery& q);
  // Answers at once when an event newer than `q.since` exists or `wait` is
  // zero; otherwise parks. With a type filter the answer after a wait may
  // hold no events (others arrived): `next` has moved past them. Blocks on
  // a store read: call off the IO thread.
  void Wait(const EventQuery& q, std::chrono::milliseconds wait, Responder respond);

 private:
  EventLog& events_;
  LongPoll poll_;
};

}  // namespace aether::control
