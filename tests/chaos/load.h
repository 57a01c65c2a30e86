// Steady load for the chaos tests, each on a thread of its own: numbered
// events into a workflow's http-ingress, and /execute of a function on a
// few engines. They record every answer; the tests check them at the end.
// Loopback only; Stop() (or the destructor) joins the thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace aether::testing {

// Events "ev-1", "ev-2", ... POSTed to an http-ingress, at most one per
// millisecond (a steady rate, not a flood), over one kept-alive connection.
class IngressLoad {
 public:
  explicit IngressLoad(std::string url);
  ~IngressLoad() { Stop(); }
  IngressLoad(const IngressLoad&) = delete;
  IngressLoad& operator=(const IngressLoad&) = delete;

  void Stop();
  int64_t last() const { return last_.load(); }        // the newest event sent
  int64_t refused() const { return refused_.load(); }  // answered 503
  std::set<int64_t> Accepted() const;                  // answered 202
  // Events with any other answer (0: none, e.g. a timeout): whether they
  // were accepted is unknown. Event -> status.
  std::map<int64_t, int> Other() const;
  std::string FirstRefusal() const;  // the body of the first 503

 private:
  void Run();

  const std::string url_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> last_{0}, refused_{0};
  mutable std::mutex mu_;
  std::set<int64_t> accepted_;
  std::map<int64_t, int> other_;
  std::string first_refusal_;
  std::thread thread_;  // last: starts when the rest is ready
};

// POST /execute {"function": F} to each engine in turn, every few ms.
class ExecuteLoad {
 public:
  ExecuteLoad(std::vector<std::string> engine_urls, std::string function);
  ~ExecuteLoad() { Stop(); }
  ExecuteLoad(const ExecuteLoad&) = delete;
  ExecuteLoad& operator=(const ExecuteLoad&) = delete;

  void Stop();
  int64_t ok() const { return ok_.load(); }
  // "URL: what went wrong", one per request that did not answer 200.
  std::vector<std::string> Failures() const;

 private:
  void Run();

  const std::vector<std::string> urls_;
  const std::string function_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> ok_{0};
  mutable std::mutex mu_;
  std::vector<std::string> failures_;
  std::thread thread_;
};

// The event numbers IngressLoad sent that a file-log at `path` holds, in
// order (the rotated part `path`.1 first); -1 for a line that is not one.
std::vector<int64_t> LoggedEvents(const std::string& path);
// True when an event numbered above `after` is among `logged`.
bool AnyAfter(const std::vector<int64_t>& logged, int64_t after);

}  // namespace aether::testing
