// The control-plane replicas a client may talk to, and which one it talks to
// now: the one piece of failover that the engine (control link, workflow
// poller) and the CLI share (docs/operations.md, "Clients and failover").
//
// A client sticks to the replica that answered last. A request that fails
// there in a way that says "this replica is not working" (see ShouldFailOver)
// moves the list on to the next URL and is sent again there, each URL at most
// once per request, with a short pause between attempts. A 4xx answer is
// final: the replica works and said no.
//
// Which requests may be sent again (Retry):
//   kSafe       reads, long-polls, heartbeats, registration with the node's
//               credential: sending twice changes nothing, so connection
//               errors, timeouts and 500/502/503/504 all move on;
//   kIfNotSent  anything else (a deploy, a join with the join token, an
//               event): moves on only when the request never reached the
//               server ("cannot connect", "cannot resolve", HttpClient's
//               contract). A timeout or a 5xx after it was sent is returned
//               (the caller cannot know whether it took effect), and the
//               list still moves on, so the caller's next request goes to
//               another replica.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/http_client.h"
#include "common/result.h"

namespace aether {

// A client takes at most this many control-plane URLs: more replicas than
// this is not a sensible deployment, and a request tries each once.
inline constexpr size_t kMaxControlUrls = 16;

// Checks one control-plane URL and returns it without trailing slashes:
// http:// or https://, a host, an optional port (1-65535), an optional path
// prefix (a reverse proxy); no user:password@, query or fragment.
// InvalidArgument names the URL and what is wrong with it.
Result<std::string> CheckEndpointUrl(std::string_view url);

// Checks a whole list as CheckEndpointUrl does, normalizes it in place, and
// refuses an empty list, more than kMaxControlUrls and duplicates. `what`
// names the source in messages ("[control] urls", "$AETHER_CONTROL").
Status CheckEndpointUrls(std::vector<std::string>* urls, std::string_view what);

// "u1,u2,u3" (spaces around commas allowed) as a checked list.
Result<std::vector<std::string>> ParseEndpointList(std::string_view text, std::string_view what);

// "u1, u2" for messages.
std::string JoinUrls(const std::vector<std::string>& urls);

enum class Retry { kSafe, kIfNotSent };

// Whether `result` says the replica is not working, so that a request sent
// with `retry` goes to the next URL. A cancelled request never moves on.
bool ShouldFailOver(const Result<HttpResponse>& result, Retry retry);

struct EndpointSendOptions {
  Retry retry = Retry::kSafe;
  // A 404 answer also tries the other URLs, without moving the list: for
  // what one replica may lack while another has it (artifacts are kept per
  // replica). The last 404 is returned when none has it.
  bool next_on_not_found = false;
};

// What a Send did, for messages and logs.
struct EndpointAttempts {
  std::string url;                 // the URL of the answer (or of the last error)
  std::vector<std::string> tried;  // in order; more than one when it moved on
  Status last_error;               // the last attempt's own error (ok: it was an answer)
};

struct EndpointListOptions {
  // Between two attempts of one request (a replica that just lost its
  // leader or its store often answers again a moment later). A stop
  // request of the request's cancel token ends the pause.
  std::chrono::milliseconds pause{100};
  // Logs (info) when requests start to succeed on another URL than before.
  bool log_switches = true;
};

// Thread-safety: every method from any thread at once (the engine's loops
// share one list, so that when one of them finds a replica dead the others
// move too).
class EndpointList {
 public:
  // `urls` must have passed CheckEndpointUrls (CHECKed: not empty).
  explicit EndpointList(std::vector<std::string> urls, EndpointListOptions options = {});

  const std::vector<std::string>& urls() const { return urls_; }
  size_t size() const { return urls_.size(); }
  // The URL requests go to now, and its index.
  size_t current_index() const { return current_.load(); }
  const std::string& current() const { return urls_[current_index()]; }
  // "u1, u2" for messages.
  std::string Joined() const { return JoinUrls(urls_); }

  // Reports that `index` failed: if it is still the current URL the next one
  // becomes current (so that several threads that saw the same replica fail
  // move the list once, not once each). Returns the current index.
  size_t Failed(size_t index);

  // Sends `request`, whose url is a path ("/node/manifest?since=3"), to the
  // current URL and on to the others as `options` allows. Returns the first
  // answer that is final (any HTTP status is a successful Result) or, when
  // every URL failed, the last one's error (Unavailable/DeadlineExceeded
  // naming every URL tried) or its last 5xx answer. `attempts` may be null.
  Result<HttpResponse> Send(HttpClient& http, HttpClientRequest request,
                            EndpointSendOptions options = {}, EndpointAttempts* attempts = nullptr);

 private:
  // Waits options_.pause unless `cancel` stops first; false when stopped.
  bool Pause(const std::stop_token& cancel) const;

  const std::vector<std::string> urls_;
  const EndpointListOptions options_;
  std::atomic<size_t> current_{0};
  std::atomic<size_t> last_good_{0};  // for log_switches
};

}  // namespace aether
