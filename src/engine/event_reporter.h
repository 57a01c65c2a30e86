// Events for the control plane's event log (POST /callback), sent from a
// background thread so the request path never waits on the network:
//   function_ready   {"function", "sha256", "version", "tier", "compile_ms"}
//   compile_failed   {"function", "sha256", "version", "error"}
//   fetch_failed     {"function", "sha256", "version", "error"}
//   trap             {"function", "kind", "suppressed"}
//   timeout          {"function", "suppressed"}
// Traps and timeouts are rate-limited per function and type (one per
// `min_interval`; "suppressed" counts the ones skipped since the last one
// sent). The queue is bounded: when full, or when a send fails, the event is
// dropped and counted in aether_events_dropped_total.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "common/clock.h"
#include "common/metrics.h"
#include "common/result.h"
#include "wasm/engine.h"

namespace aether::engine {

struct EventReporterOptions {
  size_t queue_capacity = 256;
  std::chrono::milliseconds min_interval{1000};  // per function, for trap / timeout
  Clock* clock = &Clock::Real();                 // for min_interval; outlives the reporter
  // Sends one {"event", "data"} body; runs on the reporter's thread.
  std::function<Status(const std::string& body)> send;
};

// Thread-safety: Report*/Trap from any thread (they take a mutex briefly,
// never block on I/O); Start/Stop/destructor from one controlling thread.
class EventReporter {
 public:
  EventReporter(EventReporterOptions options, Counter& dropped);
  ~EventReporter();  // Stop()
  EventReporter(const EventReporter&) = delete;
  EventReporter& operator=(const EventReporter&) = delete;

  void Start();
  // Events still queued are dropped; a send in progress finishes first.
  void Stop();

  void Report(std::string_view type, boost::json::object data);
  // A trap (kind != kTimeout) or a timeout of `function`; rate-limited.
  void ExecutionFailed(std::string_view function, wasm::TrapKind kind);

 private:
  void Loop();

  const EventReporterOptions options_;
  Counter& dropped_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  bool stopping_ = false;
  struct Limit {
    Clock::TimePoint last{};
    int64_t suppressed = 0;
  };
  std::map<std::pair<std::string, bool>, Limit, std::less<>> limits_;  // (function, timeout?)
  std::thread thread_;
};

}  // namespace aether::engine
