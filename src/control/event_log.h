// Events: what happened in the platform (deploys, node state changes, and
// what engines report through /callback), stored in the Store under
// events/<20-digit id> with ids increasing by one. The newest `max_events`
// ([database] max_events) are kept; older ones are pruned in batches. With
// replicas (leadership.h) every replica appends — an append takes the next
// id with a compare on meta/event_seq, so ids stay unique — and only the
// leader prunes, through its fenced store.
//
// Thread-safety: any thread. Append blocks on a store write.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/result.h"
#include "control/leadership.h"
#include "control/store.h"

namespace aether::control {

struct Event {
  int64_t id = 0;
  std::string time;           // RFC 3339 UTC
  std::string type;           // function_deployed, node_down, or what a node sent
  std::string source;         // a node id, "api" or "control"
  std::string data = "null";  // any JSON value, as compact text
};

struct EventPage {
  std::vector<Event> events;
  int64_t next = 0;  // pass as `since` to continue after this page
};

class EventLog {
 public:
  // Reads the last id from the store. `max_events` >= 1. `leader`: see
  // above; null for one process (it prunes through `store`).
  static Result<std::unique_ptr<EventLog>> Open(Store& store,
                                                int64_t max_events = DatabaseConfig{}.max_events,
                                                FencedStore* leader = nullptr);

  // `data`: JSON text (InvalidArgument otherwise), e.g. ToJson of an object.
  Result<int64_t> Append(std::string type, std::string source, std::string data = "null");
  // Events with id > since, of `type` when not empty, at most `limit`.
  Result<EventPage> List(int64_t since, const std::string& type, int64_t limit);
  // The newest id any replica appended (0: none yet). Cheap when the store
  // vouches that nothing was written since the last read (a long-poll asks
  // on every tick).
  Result<int64_t> LastId();

 private:
  EventLog(Store& store, int64_t max_events, FencedStore* leader);
  Status Prune();
  // Under mu_ (or in Open): last_id_ and seq_revision_ from the store.
  Status ReadSeq();
  Status ReadFirst();  // first_id_ from the store

  Store& store_;
  const int64_t max_events_;
  FencedStore* const leader_;
  std::mutex mu_;  // assigns ids in order
  int64_t last_id_ = 0;
  int64_t seq_revision_ = 0;  // meta/event_seq's mod revision (0: absent)
  int64_t first_id_ = 1;
  CachedKey seq_;  // meta/event_seq, for LastId (not under mu_: an append holds that)
};

// Seconds-precision RFC 3339 in UTC: 2024-05-01T12:00:00Z.
std::string NowRfc3339();
std::string Rfc3339(std::chrono::system_clock::time_point at);

}  // namespace aether::control
