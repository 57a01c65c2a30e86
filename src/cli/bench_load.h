// `aether bench` load: one thread per running workflow that posts to its
// http-ingress (call mode) at a fixed rate, one request in flight at a
// time, and times each answer end to end.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cli/bench_stats.h"
#include "common/http_client.h"

namespace aether::cli::bench {

// A duration in seconds, fractions kept (the CSV and the summary count in s).
inline double SecondsOf(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// One request as the CSV reports it.
struct RequestSample {
  double unix_s = 0;     // when it was sent
  double elapsed_s = 0;  // since the run began
  double ms = 0;         // until the whole answer was read
  bool ok = false;
  std::string error;  // "HTTP 503: ...", "cannot connect ...", "wrong reply"
};

struct LoadResult {
  uint64_t ok = 0;
  uint64_t errors = 0;
  LatencySamples latency_ms;  // ok requests
  std::vector<RequestSample> samples;
  std::string first_error;
};

struct LoadOptions {
  std::string url;   // the ingress
  double rate = 10;  // requests/s; a slower answer delays the next (never two in flight)
  std::string payload;
  // Generated workflows answer with the payload: anything else is an error.
  // A json-spec's may answer anything 2xx.
  bool expect_echo = true;
  std::chrono::milliseconds timeout{5000};
  std::chrono::steady_clock::time_point run_start{};
};

// Starts posting at once. `http` must outlive this object; it is shared by
// every worker (HttpClient is thread-safe).
class LoadWorker {
 public:
  LoadWorker(HttpClient& http, LoadOptions options);
  ~LoadWorker() = default;  // stops (the jthread requests stop and joins)
  LoadWorker(const LoadWorker&) = delete;
  LoadWorker& operator=(const LoadWorker&) = delete;

  // Stops, cancelling a request in flight (not counted), and hands back
  // what was measured. Call once.
  LoadResult Stop();

 private:
  void Loop(const std::stop_token& stop);

  HttpClient& http_;
  LoadOptions options_;
  LoadResult result_;  // the worker thread's until it is joined
  std::jthread thread_;
};

}  // namespace aether::cli::bench
