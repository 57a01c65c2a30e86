// The gateway: POST /api/invoke/{name} forwarded to POST {node}/execute of a
// live node that has the function's current version ready, choosing the
// least loaded; one retry on another node when the first cannot be reached.
// The engine's status and body come back unchanged.
//
// Forwards are asynchronous (AsyncHttpClient, common/async_http_client.h):
// one runs on the IO thread its request arrived on, over kept-alive
// connections to the engines (at most max_connections_per_node to each), and
// holds no thread while the engine works — a slow function holds only its
// connection. At most `threads` forwards are in flight at once; up to
// `max_queue` more wait for one of them, beyond that: 503 overloaded. The
// prologue (body, function, node choice) reads no store: the function
// registry's cached manifest and the node registry's memory.
//
// Thread-safety: Invoke from any thread; Stop from the controlling thread,
// before the HTTP server whose IO contexts Invoke was given stops.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

#include "common/async_http_client.h"
#include "common/config.h"
#include "common/http_server.h"
#include "common/limits.h"
#include "control/control_metrics.h"
#include "control/function_registry.h"
#include "control/function_stats.h"
#include "control/node_registry.h"

namespace aether::control {

// Counts the control planes an ingress request passed (Gateway::Forward).
inline constexpr std::string_view kHopsHeader = "X-Aether-Hops";

struct GatewayOptions {
  // Forwards in flight at once ([gateway] workers; the name is the one of
  // the gateway that held a thread per forward).
  size_t threads = GatewayConfig{}.workers;
  size_t max_queue = GatewayConfig{}.queue_length;  // waiting forwards; beyond: 503 overloaded
  // Forward timeout = EffectiveExecTimeout (common/limits.h: the function's
  // timeout capped by the engines' [runtime] exec_timeout, which this is:
  // the control plane's own [runtime] says it) + slack for queueing, fetch
  // and compile on the node. Waiting for a connection counts in it.
  std::chrono::milliseconds exec_timeout = kDefaultExecTimeout;
  std::chrono::milliseconds slack{10000};
  // Connections to one engine, busy or idle ([gateway] max_connections_per_node).
  size_t max_connections_per_node = GatewayConfig{}.max_connections_per_node;
  // Not owned; outlives the gateway. When set, every answered invocation
  // of a deployed function is recorded there (the dashboard's plots).
  FunctionStats* stats = nullptr;
};

class Gateway {
 public:
  Gateway(FunctionRegistry& functions, NodeRegistry& nodes, ControlMetrics& metrics,
          GatewayOptions options);
  ~Gateway();  // Stop()s

  // `body` is the client's request body: {"input": ANY}. `io` is the IO
  // context of the HTTP server's thread that calls (HttpRequest::io_context):
  // the forward runs on it and `respond` is called there; null: on the
  // gateway's own IO thread. `respond` may also be called before Invoke
  // returns (a bad body, an unknown function, overload, stopping).
  void Invoke(std::string name, const std::string& body, Responder respond,
              boost::asio::io_context* io = nullptr);
  // An http-ingress request (/wf/{workflow}/{path}) forwarded to `url`,
  // the same path on the engine that runs that ingress (on a cluster
  // controller: on its domain's control plane, which forwards it on):
  // method, body, Content-Type and Idempotency-Key as the client sent them,
  // the answer as the engine gave it (status, Content-Type, body,
  // Retry-After). It shares the invocations' slots and queue; a target that
  // cannot be reached is 503 unavailable, one that does not answer within
  // `timeout` 504.
  // `hops`: how many control planes have forwarded it, this one included
  // (sent on as kHopsHeader).
  void Forward(std::string url, const HttpRequest& req, std::chrono::milliseconds timeout, int hops,
               Responder respond);
  // Queued invocations, and any after, answer 503 unavailable at once, as
  // do those waiting for a connection; those already sent finish (bounded
  // by their timeout) before Stop returns. Idempotent.
  void Stop();

  // GatewayOptions::stats (GET /api/stats reads it); null when not set.
  FunctionStats* stats() const { return options_.stats; }

 private:
  struct Call;
  using CallPtr = std::shared_ptr<Call>;

  void Attempt(const CallPtr& call);
  // Admits `call` to a slot, the queue or a refusal, and starts it.
  void Admit(const CallPtr& call);
  void SendForward(const CallPtr& call);
  void OnAnswer(const CallPtr& call, const std::string& node_id, Result<HttpResponse> r);
  // Counts and sends the answer; a call that held a slot hands it on.
  void Answer(const CallPtr& call, HttpResponse response);
  void Count(const Call& call, int status);
  // A free slot, if any (inflight_ below options_.threads), now held.
  bool TakeSlot();
  void ReleaseSlot();
  // Starts queued calls while slots are free.
  void Drain();

  FunctionRegistry& functions_;
  NodeRegistry& nodes_;
  ControlMetrics& metrics_;
  Counter& ok_;  // invokes{status="200"}, kept: the hot path
  Histogram& invoke_seconds_;
  const GatewayOptions options_;
  std::unique_ptr<AsyncHttpClient> http_;

  std::mutex mu_;
  std::condition_variable idle_;       // inflight_ fell to 0 while stopping
  std::atomic<bool> stopping_{false};  // written under mu_
  std::atomic<size_t> inflight_{0};    // calls holding a slot
  std::deque<CallPtr> queue_;          // calls waiting for one (under mu_)
  std::atomic<size_t> queued_{0};      // queue_.size(), written under mu_
  bool draining_ = false;              // a thread is starting queued calls (under mu_)
};

}  // namespace aether::control
