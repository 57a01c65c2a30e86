// The etcd store's watch: one thread holds a watch stream (POST /v3/watch,
// newline-delimited JSON) on every key under the store's prefix and passes
// each revision it names to `publish`, so that WaitForRevision wakes on
// writes made by any replica, not only this one. It reconnects (next
// endpoint, backoff 100 ms → 2 s) when the stream breaks, and starts again
// from the current revision when etcd compacted the one it asked for;
// while it has no stream it polls the revision every backoff step, so that
// waiters still learn of writes.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "common/tls_client.h"

namespace aether::control::etcd {

struct RevisionWatchOptions {
  std::vector<std::string> endpoints;  // "http://host:port"
  std::string prefix;
  // The revision the store read when it opened: the first stream starts
  // after it (0: ask `revision` first).
  int64_t start_revision = 0;
  // The current revision (a range request through the store's client).
  std::function<Result<int64_t>()> revision;
  // The value of the Authorization header ("" without auth), asked at every
  // (re)connection.
  std::function<std::string()> token;
  std::function<void(int64_t revision)> publish;
  // A watch message (one line of the stream) longer than this drops the
  // stream, which is then opened again: what answers on an endpoint cannot
  // make the watch hold unbounded memory. The store's other answers have
  // the same bound.
  uint64_t max_message_bytes = 256ull << 20;
  // For https:// endpoints.
  ClientTlsOptions tls{};
};

class RevisionWatch {
 public:
  explicit RevisionWatch(RevisionWatchOptions options);
  ~RevisionWatch();  // Stop()
  RevisionWatch(const RevisionWatch&) = delete;
  RevisionWatch& operator=(const RevisionWatch&) = delete;

  // Ends the stream and joins the thread; returns at once if it is stopped.
  void Stop();
  // Streams opened so far (tests: a reconnection happened).
  int64_t streams() const { return streams_.load(); }

 private:
  void Run();
  // One stream from `from`, until it breaks or Stop(). Returns the revision
  // to resume from (the last one seen + 1), or 0 to start over from the
  // current revision (compacted).
  int64_t Stream(const std::string& endpoint, int64_t from);
  // The request and the stream of answers on a connected (and, for
  // https, handshaken) socket or TLS stream.
  template <typename SyncStream>
  int64_t Exchange(SyncStream& stream, const std::string& endpoint, const std::string& authority,
                   int64_t from);
  void Sleep(std::chrono::milliseconds d);

  RevisionWatchOptions options_;
  std::atomic<int64_t> streams_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // under mu_
  int fd_ = -1;            // under mu_: the stream's socket, shut down by Stop()
  std::unique_ptr<boost::asio::ssl::context> tls_;  // made at the first https stream
  std::thread thread_;                              // last
};

}  // namespace aether::control::etcd
