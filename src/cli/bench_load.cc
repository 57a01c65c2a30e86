#include "cli/bench_load.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>

namespace aether::cli::bench {
namespace {

using Steady = std::chrono::steady_clock;

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string OneLine(std::string text) {
  if (text.size() > 200) text.resize(200);
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

// Sleeps until `until` or a stop request, whichever comes first.
void SleepUntil(const std::stop_token& stop, Steady::time_point until) {
  std::mutex mu;
  std::condition_variable_any cv;
  std::unique_lock lock(mu);
  cv.wait_until(lock, stop, until, [] { return false; });
}

}  // namespace

LoadWorker::LoadWorker(HttpClient& http, LoadOptions options)
    : http_(http), options_(std::move(options)) {
  thread_ = std::jthread([this](const std::stop_token& stop) { Loop(stop); });
}

LoadResult LoadWorker::Stop() {
  thread_.request_stop();
  if (thread_.joinable()) thread_.join();
  return std::move(result_);
}

void LoadWorker::Loop(const std::stop_token& stop) {
  const auto period = std::chrono::duration_cast<Steady::duration>(
      std::chrono::duration<double>(1.0 / options_.rate));
  Steady::time_point next = Steady::now();
  while (!stop.stop_requested()) {
    SleepUntil(stop, next);
    if (stop.stop_requested()) break;
    RequestSample s;
    s.unix_s = UnixNow();
    Steady::time_point sent = Steady::now();
    s.elapsed_s = SecondsOf(sent - options_.run_start);
    auto r = http_.Send({.method = "POST",
                         .url = options_.url,
                         .body = options_.payload,
                         .headers = {{"Content-Type", "application/octet-stream"}},
                         .timeout = options_.timeout,
                         .cancel = stop});
    s.ms = SecondsOf(Steady::now() - sent) * 1000;
    if (stop.stop_requested() && !r.ok()) break;  // cancelled by Stop: not a measurement
    if (!r.ok()) {
      s.error = OneLine(r.status().message());
    } else if (r->status < 200 || r->status > 299) {
      s.error = OneLine("HTTP " + std::to_string(r->status) + ": " + r->body);
    } else if (options_.expect_echo && r->body != options_.payload) {
      s.error = OneLine("wrong reply: " + r->body);
    }
    s.ok = s.error.empty();
    if (s.ok) {
      ++result_.ok;
      result_.latency_ms.Add(s.ms);
    } else {
      ++result_.errors;
      if (result_.first_error.empty()) result_.first_error = s.error;
    }
    result_.samples.push_back(std::move(s));
    // Closed loop: a late answer delays the next request instead of
    // queueing a burst behind it.
    next = std::max(next + period, Steady::now());
  }
}

}  // namespace aether::cli::bench
