// One keep-alive HTTP/1.1 connection to a peer engine, for the dataplane's
// sender and call threads. Like common/http_pool.h's HttpConnectionPool
// (same connect-with-deadline and stale-connection retry), but it sends
// headers (the sending node and its token, X-Aether-Timeout-Ms), which that pool's Fetch
// cannot, and it can be aborted from another thread so Stop() never waits
// for a peer that does not answer.
//
// Thread-safety: Post from one thread at a time; Abort from any thread.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "common/http_server.h"
#include "common/result.h"

namespace aether::engine::workflow {

class PeerConnection {
 public:
  // `base_url`: "http://host:port" (https:// peers get one HttpFetch per
  // request: no keep-alive, but it works).
  explicit PeerConnection(std::string base_url);
  ~PeerConnection();
  PeerConnection(const PeerConnection&) = delete;
  PeerConnection& operator=(const PeerConnection&) = delete;

  // POSTs `body` to base_url + path; any status is a successful Result.
  // Errors: Unavailable when nothing reached the peer (cannot connect, or
  // aborted), DeadlineExceeded when it did not answer within `timeout`,
  // Internal when the connection broke after the request was sent (the peer
  // may or may not have processed it).
  Result<HttpResponse> Post(std::string_view path, const HttpHeaders& headers, std::string body,
                            std::string_view content_type, std::chrono::milliseconds timeout);

  // Closes the connection; a Post in progress fails at once and every
  // later one fails with Unavailable. Idempotent.
  void Abort();

  const std::string& url() const { return base_url_; }

 private:
  struct Conn;
  const std::string base_url_;
  std::string host_, port_;  // parsed from base_url_ (plain http only)
  bool plain_ = false;
  std::unique_ptr<Conn> conn_;  // the owning thread only, except under mu_ for Abort

  std::mutex mu_;  // guards fd_ and aborted_ against Abort()
  int fd_ = -1;
  bool aborted_ = false;
};

}  // namespace aether::engine::workflow
