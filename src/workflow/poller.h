// The engine's workflow side of the node protocol (docs/workflow-protocol.md,
// "Control plane ↔ engine"). Two threads:
//   * poll:   GET /node/workflows?node_id=&since=&wait= in a loop; every
//             answer goes to host.Apply() (an unchanged one too: applying is
//             cheap and retries instances that could not start);
//   * status: POST /node/workflows/status with host.Statuses() every
//             `status_interval` when they changed (and at least every
//             `status_refresh`), at once after StatusChanged(); and the
//             events the host posts (POST /callback), from a bounded queue.
// While the control plane is unreachable both retry with backoff (0.5 s
// doubling to 10 s) and log once per change of state. Every call carries
// the node's credential (NodeIdentity), never logged; before the node has
// joined nothing is sent. When the control plane refuses the credential
// (401/403: the node was removed) the node's instances are stopped (an
// empty assignment) until it accepts it again.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/endpoint_list.h"
#include "common/http_client.h"
#include "common/metrics.h"
#include "common/node_identity.h"
#include "common/result.h"
#include "workflow/workflow_host.h"

namespace aether::workflow {

struct PollerOptions {
  // The control plane's replicas (required; outlives the poller; shared
  // with the control link). The poll and status posts are sent again on
  // another replica when one fails; events only when none saw them
  // (common/endpoint_list.h).
  EndpointList* endpoints = nullptr;
  NodeIdentity* identity = nullptr;  // required; outlives the poller
  // How long a poll parks at the control plane when nothing changes (the
  // control plane caps it at 30 s). Stop() cancels the poll in flight.
  std::chrono::seconds wait{30};
  std::chrono::milliseconds backoff_initial{500};
  std::chrono::milliseconds backoff_max{10000};
  std::chrono::milliseconds call_timeout{2000};  // status and event posts
  std::chrono::milliseconds status_interval{1000};
  // Re-sent unchanged this often, so a restarted control plane (which keeps
  // statuses in memory) shows instance states again within seconds.
  std::chrono::milliseconds status_refresh{5000};
  size_t event_queue = 256;
  Counter* events_dropped = nullptr;  // may be null
  // Status intervals and backoff; outlives the poller (tests: a FakeClock).
  // Call timeouts stay the transport's own.
  Clock* clock = &Clock::Real();
  // Called with the peers of every assignment, just before it is applied
  // (the dataplane accepts them from then on); may be empty.
  std::function<void(std::vector<PeerGrant>)> peers;
  // Called with every answer (before it is applied) and the time its
  // request was sent: the JetStream janitor's view of every workflow
  // (jetstream_janitor.h). Not called for a refused credential. May be empty.
  std::function<void(const protocol::Assignments&, std::chrono::steady_clock::time_point asked_at)>
      observe;

  // Sends every call; null: a client of its own (keep-alive). Not owned;
  // outlives the poller. Tests pass a FakeHttpClient.
  HttpClient* http = nullptr;
};

// Thread-safety: Start, Stop and the destructor from one controlling
// thread; PostEvent, StatusChanged and the getters from any thread (also
// before Start and after Stop: they never block).
class Poller {
 public:
  explicit Poller(PollerOptions options);
  ~Poller();  // Stop()
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;

  // Starts both threads; `host` must outlive Stop().
  void Start(WorkflowHost& host);
  // Returns at once: calls in flight are cancelled. Events still queued
  // are dropped (counted). Idempotent.
  void Stop();

  // Queues an event body ({"event", "data"}) for POST /callback; drops and
  // counts it when the queue is full.
  void PostEvent(std::string body);
  // Asks for a status post now (WorkflowHostOptions::status_changed).
  void StatusChanged();

  int64_t revision() const;      // of the last assignment applied; -1 before the first
  int64_t status_posts() const;  // successful status posts (tests)

 private:
  void PollLoop();
  void StatusLoop();
  // Hands `a` to the peers hook and the host.
  void Apply(protocol::Assignments&& a);
  Result<HttpResponse> Send(std::string_view method, const std::string& path, std::string_view body,
                            std::chrono::milliseconds timeout, Retry retry = Retry::kSafe);
  bool Sleep(std::chrono::milliseconds d);  // true when stopping

  const PollerOptions options_;
  std::unique_ptr<HttpClient> own_http_;  // when options_.http is null
  HttpClient& http_;
  std::stop_source stop_;  // Stop() cancels every call with it
  WorkflowHost* host_ = nullptr;

  mutable std::mutex mu_;
  std::condition_variable cv_;  // stopping_, status_now_, events_
  bool stopping_ = false;
  bool status_now_ = false;
  std::deque<std::string> events_;
  int64_t revision_ = -1;
  int64_t status_posts_ = 0;
  std::thread poll_thread_;
  std::thread status_thread_;
};

}  // namespace aether::workflow
