// Long-poll of the manifest for engines (GET /node/manifest?since=&wait=):
// a request whose `since` is the current manifest revision is parked (see
// long_poll.h) until the manifest changes or its wait runs out; either way
// it is answered with the current manifest.
//
// Thread-safety: Wait from any thread; Start/Stop from the controlling one.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "common/http_server.h"
#include "control/control_metrics.h"
#include "control/function_registry.h"
#include "control/long_poll.h"
#include "control/store.h"

namespace aether::control {

inline constexpr std::chrono::seconds kMaxManifestWait{60};

class ManifestWatch {
 public:
  ManifestWatch(Store& store, FunctionRegistry& functions, ControlMetrics& metrics,
                size_t max_waiters = 10000);
  ~ManifestWatch();

  void Start();
  // Answers every parked request with the current manifest and joins.
  void Stop();

  // Answers at once when `since` is absent or differs from the manifest
  // revision (a newer manifest, or a store that was reset), or when `wait`
  // is zero; otherwise parks. Blocks on a store read: call off the IO thread.
  void Wait(std::optional<int64_t> since, std::chrono::milliseconds wait, Responder respond);

 private:
  void Answer(Responder& respond);

  FunctionRegistry& functions_;
  ControlMetrics& metrics_;
  LongPoll poll_;
};

}  // namespace aether::control
