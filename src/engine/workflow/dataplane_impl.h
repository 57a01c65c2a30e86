// Private to dataplane*.cc: the state behind Dataplane, shared by the
// sending side (dataplane.cc) and the receiving routes (dataplane_server.cc).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/workflow/dataplane.h"
#include "engine/workflow/dataplane_http.h"

namespace aether::engine::workflow {

inline constexpr std::string_view kEventsPath = "/dataplane/v1/events";
inline constexpr std::string_view kCallPath = "/dataplane/v1/call";
inline constexpr std::string_view kTimeoutHeader = "X-Aether-Timeout-Ms";
inline constexpr std::string_view kEventsContentType = "application/x-aether-events";

struct Dataplane::Impl {
  explicit Impl(DataplaneOptions o) : options(std::move(o)) {}

  // One peer engine: its queue of encoded frames and its sender thread.
  struct Peer {
    explicit Peer(std::string u) : url(u), conn(std::move(u)) {}
    const std::string url;
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::string> queue;  // encoded frames
    bool down = false;              // sender thread only
    std::chrono::steady_clock::time_point down_since;
    PeerConnection conn;  // sender thread only (Abort from Stop)
    std::thread thread;
  };

  struct CallJob {
    std::string url;
    std::string instance;  // for messages
    std::string frame;
    std::chrono::milliseconds timeout;  // as asked (0 = the target's)
    std::chrono::steady_clock::time_point deadline;  // when to stop waiting here
    ReplyFn done;
  };

  Peer* PeerFor(const std::string& url);  // null when stopping
  void SendLoop(Peer& peer);
  void CallLoop();
  // True when stopping.
  bool SleepOrStop(Peer& peer, std::chrono::milliseconds d);
  void DropQueued(Peer& peer, std::atomic<uint64_t>& counter);
  bool Authorized(std::string_view header) const;
  // Counts `n` events dropped on the way out, and tells the host (which
  // owns aether_dataplane_dropped_total).
  void Dropped(std::atomic<uint64_t>& counter, uint64_t n);

  const DataplaneOptions options;

  std::atomic<bool> stopping{false};
  std::atomic<WorkflowHost*> host{nullptr};  // set by Register, cleared by Stop
  mutable std::shared_mutex peers_mu;
  std::map<std::string, std::unique_ptr<Peer>, std::less<>> peers;

  std::mutex calls_mu;
  std::condition_variable calls_cv;
  std::deque<CallJob> calls;
  std::vector<std::thread> call_threads;
  std::vector<PeerConnection*> call_conns;  // every call thread's connections, for Abort

  std::atomic<uint64_t> sent{0}, peer_dropped{0}, queue_full{0}, unreachable{0}, rejected{0},
      received{0}, received_dropped{0}, calls_ok{0}, calls_failed{0}, calls_received{0},
      peers_down{0}, queued{0};
};

}  // namespace aether::engine::workflow
