// `aether events`: the control plane's event log (deploys, node state,
// compile failures, traps, callbacks), once or followed like `tail -f`.
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "cli/commands.h"
#include "cli/remote.h"
#include "cli/table.h"
#include "common/json_util.h"
#include "protocol/ids.h"

namespace aether::cli {
namespace {

namespace json = boost::json;

struct EventsArgs {
  RemoteFlags remote;
  std::string type;
  std::string since;
  int limit = 0;
  bool follow = false;
};

constexpr auto kPollInterval = std::chrono::seconds(1);
// How long the control plane holds a --follow request while nothing
// happens (GET /api/events?wait=); the request's own timeout is longer.
constexpr auto kFollowWait = std::chrono::seconds(25);
constexpr size_t kDataWidth = 120;  // longer data is cut in tables (not in --json)

std::string Path(const EventsArgs& a, const std::string& since,
                 std::chrono::seconds wait = std::chrono::seconds(0)) {
  std::string path = "/api/events";
  char sep = '?';
  auto add = [&](std::string_view k, const std::string& v) {
    path += sep;
    sep = '&';
    path += std::string(k) + "=" + UrlEncode(v);
  };
  if (!since.empty()) add("since", since);
  if (!a.type.empty()) add("type", a.type);
  if (a.limit > 0) add("limit", std::to_string(a.limit));
  if (wait.count() > 0) add("wait", std::to_string(wait.count()));
  return path;
}

// Tables show sha256 values as 12 digits (as everywhere in the CLI), which
// keeps most event data on one screen line.
void ShortenHashes(json::value& v) {
  if (v.is_string() && protocol::IsSha256Hex(v.as_string())) {
    v = json::string(ShortHash(v.as_string()));
  } else if (v.is_object()) {
    for (auto& kv : v.as_object()) ShortenHashes(kv.value());
  } else if (v.is_array()) {
    for (auto& item : v.as_array()) ShortenHashes(item);
  }
}

std::vector<std::string> Row(const json::object& e) {
  std::string data = "-";
  if (const json::value* d = e.if_contains("data"); d != nullptr) {
    json::value copy = *d;
    ShortenHashes(copy);
    data = Truncate(Cell(&copy), kDataWidth);
  }
  return {TimeCell(e.if_contains("time")), Field(e, "type"), Field(e, "source"), data};
}

// Following prints rows as they come, so widths cannot come from the data:
// fixed columns wide enough for the usual values (longer ones push right).
void PrintFixed(const std::vector<std::string>& row) {
  std::printf("%-19s   %-20s   %-16s   %s\n", row[0].c_str(), row[1].c_str(), row[2].c_str(),
              row[3].c_str());
}

const json::array* EventsIn(const json::value& v) {
  if (v.is_array()) return &v.as_array();
  if (!v.is_object()) return nullptr;
  const json::value* e = v.as_object().if_contains("events");
  return e != nullptr && e->is_array() ? &e->as_array() : nullptr;
}

// The cursor for the next poll: the server's "next", else the last id seen.
std::string NextCursor(const json::value& v, const json::array& events, const std::string& prev) {
  if (v.is_object()) {
    const json::value* next = v.as_object().if_contains("next");
    if (next != nullptr && !next->is_null()) return Cell(next);
  }
  if (!events.empty() && events.back().is_object()) {
    std::string id = Field(events.back().as_object(), "id");
    if (id != "-") return id;
  }
  return prev;
}

int Once(const Remote& remote, const EventsArgs& a) {
  std::string raw;
  auto answer =
      remote.Call("GET", Path(a, a.since), "", "application/json", std::chrono::seconds(30), &raw);
  if (!answer.ok()) return Report(answer.status());
  if (remote.json()) {
    PrintRaw(raw);
    return 0;
  }
  const json::array* events = EventsIn(*answer);
  if (events == nullptr) return Report(Internal("unexpected answer from the control plane"));
  if (events->empty()) {
    std::printf("no events\n");
    return 0;
  }
  Table t({"TIME", "TYPE", "SOURCE", "DATA"});
  for (const json::value& e : *events) {
    if (e.is_object()) t.AddRow(Row(e.as_object()));
  }
  t.Print(stdout);
  return 0;
}

// Polls until killed (Ctrl-C). The control plane going away is not the
// end: say so once and keep polling, as `tail -F` does with a file.
int Follow(const Remote& remote, const EventsArgs& a) {
  std::string cursor = a.since;
  bool header = false, away = false, answered = false;
  for (;;) {
    auto started = std::chrono::steady_clock::now();
    // The first answer (the history, and the header) comes at once.
    auto wait = answered ? kFollowWait : std::chrono::seconds(0);
    auto answer = remote.Call("GET", Path(a, cursor, wait), "", "application/json",
                              wait + std::chrono::seconds(15));
    if (!answer.ok()) {
      if (answer.status().code() != Code::kUnavailable &&
          answer.status().code() != Code::kDeadlineExceeded) {
        return Report(answer.status());
      }
      if (!away) std::fprintf(stderr, "aether: %s; retrying\n", answer.status().message().c_str());
      away = true;
      std::this_thread::sleep_for(kPollInterval);
      continue;
    }
    away = false;
    answered = true;
    const json::array* events = EventsIn(*answer);
    if (events == nullptr) return Report(Internal("unexpected answer from the control plane"));
    if (!remote.json() && !header) {
      PrintFixed({"TIME", "TYPE", "SOURCE", "DATA"});
      header = true;
    }
    for (const json::value& e : *events) {
      if (!e.is_object()) continue;
      if (remote.json()) {
        std::printf("%s\n", ToJson(e).c_str());  // one event per line (NDJSON)
      } else {
        PrintFixed(Row(e.as_object()));
      }
    }
    std::fflush(stdout);
    std::string next = NextCursor(*answer, *events, cursor);
    cursor = next;
    // The control plane held the request until something happened, so ask
    // again at once. An empty answer that came back quickly is from one
    // that does not hold requests (older than `wait=`): poll every second.
    auto spent = std::chrono::steady_clock::now() - started;
    if (events->empty() && spent < kPollInterval)
      std::this_thread::sleep_for(kPollInterval - spent);
  }
}

int Events(const EventsArgs& a) {
  if (a.limit < 0) return Report(UsageError("--limit must be positive"));
  auto remote = Remote::Resolve(a.remote);
  if (!remote.ok()) return Report(remote.status());
  return a.follow ? Follow(*remote, a) : Once(*remote, a);
}

}  // namespace

void AddEventsCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<EventsArgs>();
  CLI::App* cmd = app.add_subcommand("events", "Show the control plane's events");
  cmd->add_option("--type", args->type,
                  "Only events of this type (e.g. function_deployed, node_down)");
  cmd->add_option("--since", args->since, "Only events after this event id");
  cmd->add_option("--limit", args->limit, "At most this many events per request");
  cmd->add_flag("--follow,-f", args->follow,
                "Keep following and print new events as they are recorded, until Ctrl-C");
  AddRemoteFlags(cmd, &args->remote);
  cmd->callback([args, exit_code] { *exit_code = Events(*args); });
}

}  // namespace aether::cli
