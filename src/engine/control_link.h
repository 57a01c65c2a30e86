// Everything an engine needs to be a node of a control plane, wired from a
// Config when `[control] urls` (or url) is set: the module store on disk, the
// manifest-managed functions, the protocol client and the event reporter.
//
// Start-up order: the last manifest saved in <data_dir>/manifest.json is
// applied at Create() from the modules on disk, so a restarted engine
// serves what it had before the control plane answers; Start() then joins.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "common/config.h"
#include "common/endpoint_list.h"
#include "common/http_client.h"
#include "common/node_identity.h"
#include "common/result.h"
#include "engine/api.h"
#include "engine/engine_metrics.h"
#include "engine/function_registry.h"
#include "wasm/engine.h"

namespace aether::engine {

struct ControlLinkOptions {
  NodeIdentity* identity = nullptr;  // required; outlives the link
  // The control plane's replicas (required; outlives the link; the
  // workflow poller shares it).
  EndpointList* endpoints = nullptr;
  size_t workers = 0;  // capacity reported at registration
  size_t queue_capacity = 0;
  // inflight (running) and queued executions, for heartbeats; any thread.
  std::function<std::pair<int64_t, int64_t>()> load;
  // Talks to the control plane; null: a client of the link's own. Not
  // owned; outlives the link.
  HttpClient* http = nullptr;
};

// Thread-safety: Start/Stop/destructor from one controlling thread;
// functions() and ExecutionFailed from any thread.
class ControlLink : public ExecutionObserver {
 public:
  // Errors: PermissionDenied when <data_dir>/modules cannot be created.
  // `engine` and `metrics` must outlive the link.
  static Result<std::unique_ptr<ControlLink>> Create(const Config& config, wasm::Engine& engine,
                                                     EngineMetrics& metrics,
                                                     ControlLinkOptions options);
  ~ControlLink() override = default;  // Stop()s

  // The control plane's functions (valid for the link's lifetime).
  virtual FunctionRegistry& functions() = 0;
  // Joins: registers as `self_url`, beats, follows the manifest, reports.
  virtual void Start(std::string self_url) = 0;
  // Stops beating and following at once (calls in flight are cancelled).
  // Idempotent.
  virtual void Stop() = 0;
};

}  // namespace aether::engine
