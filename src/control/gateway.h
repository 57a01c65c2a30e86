// The gateway: POST /api/invoke/{name} forwarded to POST {node}/execute of a
// live node that has the function's current version ready, choosing the
// least loaded; one retry on another node when the first cannot be reached.
// The engine's status and body come back unchanged.
//
// Forwards run on a thread pool of their own (a forward blocks on its
// HttpClient call), so slow functions never hold the HTTP IO threads or the
// API workers. Connections to the engines are kept alive between forwards.
//
// Thread-safety: Invoke from any thread; Stop from the controlling thread.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "common/config.h"
#include "common/http_client.h"
#include "common/http_server.h"
#include "common/limits.h"
#include "common/work_queue.h"
#include "control/control_metrics.h"
#include "control/function_registry.h"
#include "control/node_registry.h"

namespace aether::control {

struct GatewayOptions {
  size_t threads = GatewayConfig{}.workers;         // concurrent forwards
  size_t max_queue = GatewayConfig{}.queue_length;  // waiting forwards; beyond: 503 overloaded
  // Forward timeout = EffectiveExecTimeout (common/limits.h: the function's
  // timeout capped by the engines' [runtime] exec_timeout, which this is:
  // the control plane's own [runtime] says it) + slack for queueing, fetch
  // and compile on the node.
  std::chrono::milliseconds exec_timeout = kDefaultExecTimeout;
  std::chrono::milliseconds slack{10000};
  // Keep-alive connections kept per engine.
  size_t max_idle_per_node = 64;
  // Sends the forwards; null: a client of the gateway's own. Not owned.
  HttpClient* http = nullptr;
};

class Gateway {
 public:
  Gateway(FunctionRegistry& functions, NodeRegistry& nodes, ControlMetrics& metrics,
          GatewayOptions options);
  ~Gateway();

  // `body` is the client's request body: {"input": ANY}.
  void Invoke(std::string name, std::string body, Responder respond);
  // Queued invocations, and any after, answer 503 unavailable at once;
  // those already forwarding finish (bounded by their timeout). Idempotent.
  void Stop();

 private:
  HttpResponse Forward(const std::string& name, const std::string& body);

  FunctionRegistry& functions_;
  NodeRegistry& nodes_;
  ControlMetrics& metrics_;
  GatewayOptions options_;
  std::atomic<bool> stopping_{false};
  std::unique_ptr<HttpClient> own_http_;  // when options_.http is null
  HttpClient& http_;                      // forwards to the engines
  WorkQueue workers_;
};

}  // namespace aether::control
