// The engine's side of the node protocol (docs/api.md, "Node protocol"):
// registers with the control plane, heartbeats, follows the manifest, fetches
// modules and posts events. Threads of its own:
//   * beats:    POST /register (again after a 404 or after losing contact),
//               then POST /node/heartbeat every heartbeat interval, or at once
//               after BeatSoon();
//   * manifest: GET /node/manifest?since=REV&wait=W in a loop, handing every
//               manifest to the `manifest` hook (once the node has joined).
//               The poll parks at the control plane for up to W (30 s); a
//               change arrives at once, and Stop() cancels the poll.
//   * prefetch: the same long-poll on GET /node/prefetch, for the modules
//               being deployed (when the `prefetch` hook is set); a control
//               plane without the route is asked again every minute.
// While the control plane is unreachable both retry with exponential backoff
// (0.5 s doubling to 10 s) and log only when the state changes.
//
// Identity: every call carries the node's own credential (NodeIdentity).
// The join token is sent only to register a node that has none — at its
// first start, or when the control plane answers 404 to its credential
// (its store was replaced) — and the credential it issues is saved. A
// refused credential (401/403: the node was removed, or the id belongs to
// another credential) is logged once with the control plane's reason and
// retried quietly, never replaced by the join token. Neither secret is
// ever logged.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/endpoint_list.h"
#include "common/http_client.h"
#include "common/node_identity.h"
#include "common/result.h"
#include "protocol/manifest.h"
#include "protocol/module_hints.h"
#include "protocol/node.h"

namespace aether::engine {

struct ControlClientOptions {
  // The control plane's replicas (required; outlives the client; shared
  // with the workflow poller so that all of the engine's loops move to
  // another replica together). Which calls are sent again elsewhere:
  // common/endpoint_list.h; here: register with the credential, heartbeat,
  // manifest and artifacts are safe; the join (join token) and events are
  // sent again only when they never reached a replica.
  EndpointList* endpoints = nullptr;
  std::string join_token;            // admits this node while it has no credential
  NodeIdentity* identity = nullptr;  // required; outlives the client
  std::map<std::string, std::string> labels;
  std::string capacity_json = "{}";  // a JSON object, shown in /api/nodes
  // Until the register reply says otherwise.
  std::chrono::milliseconds heartbeat_interval{5000};
  // The manifest long-poll's wait: how long a poll parks at the control
  // plane when nothing changes (the control plane caps it at 60 s). Stop()
  // cancels the poll in flight, so it does not wait for it.
  std::chrono::seconds manifest_wait{30};
  std::chrono::milliseconds backoff_initial{500};
  std::chrono::milliseconds backoff_max{10000};
  // Register, heartbeat and event calls.
  std::chrono::milliseconds call_timeout{2000};
  std::chrono::milliseconds artifact_timeout{60000};

  // Heartbeat intervals and backoff waits; outlives the client (tests: a
  // FakeClock). Call timeouts stay the transport's own.
  Clock* clock = &Clock::Real();

  // Sends every call; null: a client of its own (keep-alive). Not owned;
  // outlives the client. Tests pass a FakeHttpClient.
  HttpClient* http = nullptr;
};

struct ControlClientHooks {
  // Called on the beat thread before every heartbeat; the client fills in
  // the node id.
  std::function<protocol::Heartbeat()> status;
  // Called on the manifest thread with every manifest received (also when
  // its revision did not change: applying an unchanged manifest is cheap and
  // retries loads that failed while the control plane was away).
  std::function<void(const protocol::Manifest& manifest, std::string_view json)> manifest;
  // Called on the prefetch thread with the modules a control plane replica
  // is deploying right now (GET /node/prefetch, protocol/module_hints.h),
  // before their manifest; also with ones already seen. May be empty: then
  // the thread is not started.
  std::function<void(const std::vector<protocol::ModuleHint>& modules)> prefetch;
};

// Thread-safety: Start, Stop and the destructor from one controlling thread;
// everything else from any thread.
class ControlClient {
 public:
  ControlClient(ControlClientOptions options, ControlClientHooks hooks);
  ~ControlClient();  // Stop()
  ControlClient(const ControlClient&) = delete;
  ControlClient& operator=(const ControlClient&) = delete;

  // Starts both threads; `self_url` is where the control plane reaches this
  // engine's /execute.
  void Start(std::string self_url);
  // Stops both threads at once: calls in flight (the manifest poll, a
  // heartbeat, artifact fetches, an event post) are cancelled, and later
  // FetchArtifact / PostEvent calls fail with Unavailable. Then, when it had
  // joined, tells the control plane it leaves (POST /node/leave, at most
  // 1.5 s), so that it is down there at once. Idempotent.
  void Stop();

  // Asks for a heartbeat now (a function became ready). Never blocks.
  void BeatSoon();

  // GET /node/artifacts/{sha256}. The caller verifies the bytes. A replica
  // that answers 404 may just not hold it (artifacts are kept per replica):
  // the others are asked too.
  // Errors: Unavailable / DeadlineExceeded (control plane away, or the node
  // has not joined yet), NotFound (no replica has it), PermissionDenied (the
  // credential is refused), Internal (any other answer).
  Result<std::vector<uint8_t>> FetchArtifact(const std::string& sha256);
  // POST /callback with `body` ({"event", "data"}). Before the node has
  // joined it waits up to call_timeout for its credential.
  Status PostEvent(std::string_view body);

  const std::string& node_id() const { return options_.identity->node_id(); }
  bool registered() const;

 private:
  enum class Link { kStarting, kUp, kUnreachable, kRejected };
  // POST /node/leave, once the threads are stopped (best effort).
  void Leave() noexcept;
  enum class Auth { kJoin, kNode };  // which token a call carries

  void BeatLoop();
  void ManifestLoop();
  void PrefetchLoop();
  // Waits for the node's first registration; false when stopping.
  bool WaitUntilJoined();
  // GET `route`, parked past revision `since` (manifest_wait) when set.
  Result<HttpResponse> LongPoll(const std::string& route, std::optional<int64_t> since);
  Status Register();
  // Registers a node without a credential (the join token) and saves the
  // credential the control plane issues.
  Status Join(const std::string& body);
  void ApplyRegisterReply(const HttpResponse& r);
  // What a 401/403 to the node's credential means, and what to do.
  std::string CredentialRefused() const;
  Status Heartbeat();  // NotFound = unknown node
  Result<HttpResponse> Call(std::string_view method, const std::string& path, std::string_view body,
                            std::chrono::milliseconds timeout, Auth auth = Auth::kNode,
                            EndpointSendOptions send = {});
  const std::string& url() const { return options_.endpoints->current(); }
  // The node's secret, waiting up to call_timeout for the first
  // registration; Unavailable when it does not come.
  Result<std::string> Secret();
  // Logs a change of the link's state (once per change, not per attempt).
  void SetLink(Link* current, Link next, std::string_view what, const Status& why);
  // Waits up to `d`; true when stopping. With `beat`, BeatSoon() also wakes it.
  bool Sleep(std::chrono::milliseconds d, bool beat);

  const ControlClientOptions options_;
  const ControlClientHooks hooks_;
  std::unique_ptr<HttpClient> own_http_;  // when options_.http is null
  HttpClient& http_;
  std::stop_source stop_;  // Stop() cancels every call with it
  std::string self_url_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool beat_soon_ = false;
  bool registered_ = false;
  std::chrono::milliseconds interval_;
  std::thread beat_thread_;
  std::thread manifest_thread_;
  std::thread prefetch_thread_;
};

// The node id to use: `configured` when set, else the host name.
std::string DefaultNodeId(const std::string& configured);

}  // namespace aether::engine
