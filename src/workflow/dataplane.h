// The dataplane between engines (docs/workflow-protocol.md, "Engine ↔
// engine"): RemoteLink over HTTP for the sending side, and the receiving
// routes on the engine's HTTP server.
//
// Sending casts: one bounded queue per peer URL (queue_length events) and
// one sender thread per peer that drains it in batches (POST
// /dataplane/v1/events over a keep-alive connection). A full queue holds
// the sender until the sender thread takes a batch or the caller's
// `wait_until`, then answers ResourceExhausted. The receiver defers what
// its full mailboxes cannot take (per instance, in order) and the sender
// thread sends those frames again, first, after a pause that grows from
// overrun_pause while the peer keeps deferring: a slow instance on the
// other node fills this queue and so holds its producers here, as a full
// local mailbox does. When a
// peer does not answer, the batch is retried with backoff for `retry_for`;
// after that the batch and what is queued behind it are dropped and
// counted, and later batches are tried once each (with backoff between
// attempts) until the peer answers again. Each change of a peer's state is
// logged once.
//
// Calls: POST /dataplane/v1/call, asynchronously (no thread per call in
// flight), on at most call_connections keep-alive connections per peer;
// more than max_pending_calls unanswered answers ResourceExhausted. A
// caller that waits for the reply anyway (a guest in aether.call) sends and
// reads on its own thread instead (CallOnThisThread): no hand-off to the
// client's thread and back. Stop cuts the calls in flight (Unavailable).
//
// Receiving: POST /dataplane/v1/events, POST /dataplane/v1/call and the
// http-ingress routes /wf/{workflow}/{path...}; see Register().
//
// At most once: every batch carries an id (X-Aether-Batch), kept when the
// batch is sent again after a lost answer and new for every batch formed
// from the queue (deferred frames included); the receiver answers an id
// it has seen recently with the answer it gave, delivering nothing again
// (dataplane_dedup.h).
//
// Authentication (docs/workflow-protocol.md, "Engine ↔ engine"): a request
// names its sending node (X-Aether-Node) and carries the token that node
// derives for this receiver from its own credential (node_credential.h's
// PairToken). The receiver accepts it only from the peers of its current
// assignment (SetPeers), by the SHA-256 the control plane handed out, and
// only for the instances that peer's outputs reach. Senders retry a
// 401/403 like an unreachable peer: usually the receiver has not applied
// the newest assignment yet.
//
// Thread-safety: Cast, Call and counters() from any thread; Register
// before the server starts; Stop and the destructor from one controlling
// thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/http_client.h"
#include "common/http_server.h"
#include "common/limits.h"
#include "common/metrics.h"
#include "common/node_identity.h"
#include "workflow/workflow_host.h"

namespace aether::workflow {

struct DataplaneOptions {
  // This node: its id and dataplane key, for what it sends. Null, or
  // before the node has joined, requests go out without a valid token.
  const NodeIdentity* identity = nullptr;
  size_t queue_length = kDefaultDataplaneQueueLength;  // events waiting per peer
  // About a default mailbox (1024): a bigger batch for one instance would
  // overrun it at the peer.
  size_t max_batch_events = 1024;
  size_t max_batch_bytes = 1u << 20;                 // below the receivers' 4 MiB
  std::chrono::milliseconds request_timeout{5000};   // one batch POST
  std::chrono::milliseconds retry_for{10000};        // a peer that does not answer, then drop
  std::chrono::milliseconds overrun_pause{2};        // after a batch the peer partly deferred
  std::chrono::milliseconds overrun_pause_max{100};  // ...doubling while it keeps deferring
  std::chrono::milliseconds backoff_initial{50};
  std::chrono::milliseconds backoff_max{2000};
  // Receiving: the batches remembered per sending node, so that one sent
  // again is answered without being delivered twice (dataplane_dedup.h).
  size_t dedup_batches = kDefaultDataplaneDedupBatches;
  std::chrono::milliseconds dedup_window = kDefaultDataplaneDedupWindow;  // on `clock`
  // Calls in flight to one peer at once (one connection each); more wait
  // for a connection within their timeout.
  size_t call_connections = 64;
  size_t max_pending_calls = 1024;  // calls sent and not yet answered, all peers
  // A call with timeout 0 ("the target's event timeout") waits this long
  // for the HTTP answer.
  std::chrono::milliseconds max_call_wait{60000};
  // retry_for and the backoff between attempts; outlives the dataplane.
  // Request and call timeouts stay on real time (they are HTTP timeouts).
  Clock* clock = &Clock::Real();
  // Sends the casts' batches to the peers; null: a client of its own that
  // keeps connections alive. Not owned; outlives the dataplane. (Calls go
  // through an asynchronous client of the dataplane's own.)
  HttpClient* http = nullptr;
  // The CA its own clients trust for https:// peers; empty = the system's.
  std::string ca_file{};
  // Where the dataplane registers aether_dataplane_* (but
  // aether_dataplane_dropped_total, the host's), collected at each scrape
  // from its counters. May be null (no metrics); else outlives it.
  MetricsRegistry* metrics = nullptr;
};

// Counters, for tests and /metrics.
struct DataplaneCounters {
  uint64_t sent = 0;                 // events peers accepted
  uint64_t peer_dropped = 0;         // events peers answered as dropped (unknown target)
  uint64_t bad_answer = 0;           // dropped: a peer's malformed answer did not account for them
  uint64_t deferred = 0;             // events peers deferred (full mailboxes), sent again
  uint64_t queue_full = 0;           // sends dropped: the queue was full (CountSendDropped)
  uint64_t unreachable = 0;          // dropped after retry_for without an answer
  uint64_t rejected = 0;             // dropped: the peer refused the batch (400, 413)
  uint64_t received = 0;             // events delivered to this node's host
  uint64_t received_dropped = 0;     // events for unknown instances here
  uint64_t received_deferred = 0;    // events this node deferred (full mailboxes)
  uint64_t received_duplicates = 0;  // batches received again: answered, not delivered twice
  uint64_t calls_ok = 0;             // calls this node sent that got a reply
  uint64_t calls_failed = 0;         // calls this node sent that got an error
  uint64_t calls_received = 0;
  uint64_t peers_down = 0;  // peers not answering right now
  uint64_t queued = 0;      // events waiting in all queues
};

class Dataplane final : public RemoteLink {
 public:
  explicit Dataplane(DataplaneOptions options);
  ~Dataplane() override;  // Stop()s
  Dataplane(const Dataplane&) = delete;
  Dataplane& operator=(const Dataplane&) = delete;

  // RemoteLink. Cast: ResourceExhausted when the peer's queue is still full
  // at `wait_until` (not counted: the caller reports a final refusal with
  // CountSendDropped, counted as queue_full),
  // InvalidArgument for a payload over 1 MiB or a bad target, Unavailable
  // after Stop(). Call: `done` gets DeadlineExceeded, Unavailable (cannot
  // reach the peer, or stopping), NotFound, ResourceExhausted (the target
  // or this node's call pool is full) or Internal (the target failed).
  Status Cast(const OutputTarget& target, std::string_view source, std::string_view payload,
              WaitUntil wait_until) override;
  void Call(const OutputTarget& target, std::string_view source, std::string_view payload,
            std::chrono::milliseconds timeout, ReplyFn done) override;
  // The same call over a kept connection, sent and read on the calling
  // thread; cut by Stop (Unavailable).
  std::optional<Result<CallReply>> CallOnThisThread(const OutputTarget& target,
                                                    std::string_view source,
                                                    std::string_view payload,
                                                    std::chrono::milliseconds timeout) override;
  void CountSendDropped(const OutputTarget& target) override;

  // Adds the receiving routes to `server` (before it starts):
  //   POST /dataplane/v1/events  frames -> host.Cast each; 200 {"accepted","dropped",
  //                              "deferred"}, or the answer given before for a batch id
  //                              seen again; 400 malformed frames or batch id,
  //                              401 no credential, 403 a sender
  //                              that is not a peer or a wrong token, 413 over 4 MiB;
  //                              frames for instances the sender may not reach are dropped
  //   POST /dataplane/v1/call    one frame -> host.Call; 200 reply bytes, 404, 503, 504,
  //                              502; 401/403 as above (also for an instance it may not reach)
  //   ANY  /wf/{workflow}/{path} host.Ingress, or host.Portal for a request with
  //                              X-Aether-Portal (a portal of another domain: that
  //                              header, X-Aether-Portal-Token, X-Aether-Timeout-Ms);
  //                              the IngressReply as the response
  // Handlers never block the IO thread (calls answer from the reply
  // callback). `host` must outlive the server's handlers. Events this
  // dataplane drops on the way out (full queue, unreachable or refusing
  // peer, dropped at the peer) are also reported to
  // host.AddDataplaneDropped (the host owns aether_dataplane_dropped_total)
  // until Stop() returns.
  void Register(HttpServer& server, WorkflowHost& host);

  // The nodes this one accepts requests from, replacing the previous set
  // (Poller: the "peers" of every assignment). Until the first call, none.
  void SetPeers(std::vector<PeerGrant> peers);

  // Drops what is queued (counted as unreachable), fails calls that wait
  // with Unavailable, aborts requests in flight and joins the threads.
  // Idempotent. Later Casts/Calls fail with Unavailable.
  void Stop();

  DataplaneCounters counters() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  // Declared after impl_: unregistered before the counters go.
  ScrapeHook scrape_hook_;
};

}  // namespace aether::workflow
