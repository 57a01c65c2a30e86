// Private to dataplane*.cc: the state behind Dataplane, shared by the
// sending side (dataplane.cc) and the receiving routes (dataplane_server.cc).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/async_http_client.h"
#include "common/backoff.h"
#include "common/room_waiter.h"
#include "workflow/dataplane.h"
#include "workflow/dataplane_codec.h"
#include "workflow/dataplane_dedup.h"

namespace aether::workflow {

inline constexpr std::string_view kEventsPath = "/dataplane/v1/events";
inline constexpr std::string_view kCallPath = "/dataplane/v1/call";
inline constexpr std::string_view kTimeoutHeader = "X-Aether-Timeout-Ms";
// On a call's 200 answer: "none" when the callee has no reply (CallReply::none;
// the body is empty). A caller that does not know it reads an empty reply.
inline constexpr std::string_view kReplyHeader = "X-Aether-Reply";
inline constexpr std::string_view kEventsContentType = "application/x-aether-events";

struct Dataplane::Impl {
  explicit Impl(DataplaneOptions o)
      : options(std::move(o)),
        windows({.max_batches = options.dedup_batches,
                 .max_age = options.dedup_window,
                 .clock = options.clock}) {
    if (options.http == nullptr) {
      own_http = NewHttpClient({.max_idle_per_host = 2, .ca_file = options.ca_file});
    }
    http = options.http != nullptr ? options.http : own_http.get();
  }

  // One peer engine (a node id at a url): its queue of encoded frames and
  // its sender thread.
  struct Peer {
    Peer(std::string id, std::string u) : node_id(std::move(id)), url(std::move(u)) {}
    const std::string node_id;
    const std::string url;
    std::mutex mu;
    std::condition_variable cv;      // frames queued, or stopping
    RoomWaiter room;                 // the sender took frames, or stopping
    std::deque<std::string> queue;   // encoded frames
    size_t in_flight = 0;            // frames of the batch being sent: they count against the queue
    bool down = false;               // sender thread only
    bool bad_answer_logged = false;  // sender thread only: the last answer was malformed
    Clock::TimePoint down_since;     // on options.clock
    std::thread thread;
  };

  // A call's request, made once by Call or CallOnThisThread.
  struct CallRequest {
    std::string frame;
    std::string url;
    HttpHeaders headers;
    std::chrono::milliseconds wait{};  // the HTTP timeout
  };
  Status CheckCall(const OutputTarget& target, std::string_view source, std::string_view payload);
  CallRequest NewCall(const OutputTarget& target, std::string_view source, std::string_view payload,
                      std::chrono::milliseconds timeout) const;
  // The caller's reply from the peer's answer, counted.
  Result<CallReply> CallAnswer(Result<HttpResponse> r, const std::string& instance);

  Peer* PeerFor(const OutputTarget& target);  // null when stopping
  void SendLoop(Peer& peer);
  // True when stopping.
  bool SleepOrStop(Peer& peer, std::chrono::milliseconds d);
  void DropQueued(Peer& peer, std::atomic<uint64_t>& counter);
  // Puts the frames `indexes` (ascending) of `batch` back at the front of
  // the queue, in their order; `ends[i]` is where frame i ends.
  void Requeue(Peer& peer, const std::string& batch, const std::vector<size_t>& ends,
               const std::vector<size_t>& indexes);
  // The peer answered 200 for `batch` (its frames end at `ends`): counts
  // what it took and dropped, requeues what it deferred and pauses
  // (`overrun`). True when stopping.
  bool Answered(Peer& peer, std::string_view body, const std::string& batch,
                const std::vector<size_t>& ends, Backoff& overrun);
  // The batch in flight is answered for (sent, dropped or requeued): its
  // frames stop counting against the queue.
  void BatchDone(Peer& peer);
  // What a request to `receiver` carries: X-Aether-Node and the token.
  HttpHeaders Credentials(const std::string& receiver) const;
  // The bearer value for each receiver, made from `key` (this node's
  // dataplane key when they were made; a new key empties it). An HMAC per
  // call was ~5% of a cross-engine call's CPU.
  struct PairTokens {
    std::mutex mu;
    std::string key;
    std::unordered_map<std::string, std::string> bearer;
  };
  mutable PairTokens pair_tokens;
  // The grant of the peer that sent `req`, after checking its token.
  // Unauthenticated (401) without X-Aether-Node or a bearer token,
  // PermissionDenied (403) for a sender that is not a peer or a wrong token.
  using PeerTable = std::map<std::string, PeerGrant, std::less<>>;
  struct Sender {
    std::shared_ptr<const PeerTable> table;  // keeps `grant` alive
    const PeerGrant* grant = nullptr;
  };
  Result<Sender> Authenticate(const HttpRequest& req) const;
  // A decoded batch into the host's mailboxes: the /dataplane/v1/events
  // answer's body ({"accepted","dropped","deferred"}).
  std::string DeliverFrames(WorkflowHost& h, const std::set<std::string, std::less<>>& allowed,
                            const std::vector<Frame>& frames);
  // 16 random hex digits.
  static std::string NewBatchEpoch();
  // Counts `n` events dropped on the way out, and tells the host (which
  // owns aether_dataplane_dropped_total).
  void Dropped(std::atomic<uint64_t>& counter, uint64_t n);

  const DataplaneOptions options;
  // Sending: batch ids are "<batch_epoch>-<n>", n from batch_seq; the
  // epoch is random per Dataplane, so ids are unique per process and peer.
  const std::string batch_epoch = NewBatchEpoch();
  std::atomic<uint64_t> batch_seq{0};
  // Receiving: the batches each peer sent recently, with their answers.
  BatchWindows windows;
  std::unique_ptr<HttpClient> own_http;  // when options.http is null
  HttpClient* http = nullptr;
  std::stop_source stop;  // Stop() cancels every request in flight with it

  mutable std::mutex peers_table_mu;
  std::shared_ptr<const PeerTable> peer_table = std::make_shared<PeerTable>();

  std::atomic<bool> stopping{false};
  std::atomic<WorkflowHost*> host{nullptr};  // set by Register, cleared by Stop
  mutable std::shared_mutex peers_mu;
  std::map<std::string, std::unique_ptr<Peer>, std::less<>> peers;  // by node id + url

  // Calls: no thread per call in flight; Stop cuts the ones in flight.
  std::unique_ptr<AsyncHttpClient> call_http =
      NewAsyncHttpClient({.max_connections_per_host = std::max<size_t>(1, options.call_connections),
                          .ca_file = options.ca_file,
                          .abort_on_stop = true});
  std::atomic<size_t> calls_pending{0};  // sent, not yet answered
  // CallOnThisThread's: a connection kept per caller thread at most.
  std::unique_ptr<HttpClient> call_sync_http =
      NewHttpClient({.max_idle_per_host = std::max<size_t>(1, options.call_connections),
                     .ca_file = options.ca_file});

  std::atomic<uint64_t> sent{0}, peer_dropped{0}, bad_answer{0}, queue_full{0}, unreachable{0},
      rejected{0}, received{0}, received_dropped{0}, deferred{0}, received_deferred{0},
      received_duplicates{0}, calls_ok{0}, calls_failed{0}, calls_received{0}, peers_down{0},
      queued{0};
};

}  // namespace aether::workflow
