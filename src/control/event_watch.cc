#include "control/event_watch.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cstdlib>

#include "common/json_util.h"

namespace aether::control {
namespace {

namespace json = boost::json;

json::object EventJson(const Event& e) {
  Result<json::value> data = ParseJson(e.data);
  return {{"id", e.id},
          {"time", e.time},
          {"type", e.type},
          {"source", e.source},
          {"data", data.ok() ? std::move(*data) : json::value(nullptr)}};
}

// A parked request's query travels as its LongPoll key: "since limit type"
// (a type never holds a space: protocol::ValidateEventType).
std::string KeyOf(const EventQuery& q) {
  return std::to_string(q.since) + " " + std::to_string(q.limit) + " " + q.type;
}

EventQuery QueryOf(const std::string& key) {
  EventQuery q;
  char* end = nullptr;
  q.since = std::strtoll(key.c_str(), &end, 10);
  q.limit = std::strtoll(end, &end, 10);
  if (*end == ' ') q.type = end + 1;
  return q;
}

}  // namespace

EventWatch::EventWatch(Store& store, EventLog& events, size_t max_waiters)
    : events_(events),
      poll_(store,
            LongPollHooks{
                [this] { return events_.LastId(); },
                [this](const std::string& key, Responder& respond) { respond(Page(QueryOf(key))); },
                {}},
            kMaxEventWait, max_waiters, "events") {}

EventWatch::~EventWatch() { Stop(); }

void EventWatch::Start() { poll_.Start(); }

void EventWatch::Stop() { poll_.Stop(); }

HttpResponse EventWatch::Page(const EventQuery& q) {
  Result<EventPage> page = events_.List(q.since, q.type, q.limit);
  if (!page.ok()) return JsonError(page.status());
  json::array events;
  for (const Event& e : page->events) events.push_back(EventJson(e));
  HttpResponse r = JsonOk(json::object{{"events", std::move(events)}, {"next", page->next}});
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

void EventWatch::Wait(const EventQuery& q, std::chrono::milliseconds wait, Responder respond) {
  // The poll parks while its `since` equals the newest id. A cursor past it
  // (a store restored from an older backup) parks from the newest id on, so
  // a follower waits for new events instead of asking again at once.
  Result<int64_t> last = events_.LastId();
  if (!last.ok()) return respond(JsonError(last.status()));
  poll_.Wait(KeyOf(q), std::min(q.since, *last), wait, std::move(respond));
}

}  // namespace aether::control
