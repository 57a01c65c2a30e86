// Keep-alive HTTP/1.1 connections for repeated requests to the same few
// plain-http servers (the control plane's gateway forwarding to engines).
// A new connection per request would cost a TCP handshake and, under load,
// ephemeral ports in TIME_WAIT. Thread-safe: any thread may call Fetch; a
// connection is used by one request at a time.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/http_server.h"
#include "common/result.h"

namespace aether {

class HttpConnectionPool {
 public:
  // At most `max_idle_per_host` idle connections are kept per host:port.
  explicit HttpConnectionPool(size_t max_idle_per_host = 64);
  ~HttpConnectionPool();
  HttpConnectionPool(const HttpConnectionPool&) = delete;
  HttpConnectionPool& operator=(const HttpConnectionPool&) = delete;

  // Like HttpFetch for "http://" URLs; other URLs are passed to HttpFetch.
  // A request on a reused connection that the server had closed is retried
  // once on a new connection. Errors: Unavailable when the request could
  // not be sent (nothing reached the server), DeadlineExceeded, Internal.
  Result<HttpResponse> Fetch(std::string_view method, std::string_view url, std::string_view body,
                             std::chrono::milliseconds timeout);

 private:
  struct Conn;
  std::unique_ptr<Conn> Take(const std::string& key);
  void Give(const std::string& key, std::unique_ptr<Conn> conn);

  size_t max_idle_;
  std::mutex mu_;
  std::map<std::string, std::vector<std::unique_ptr<Conn>>> idle_;
};

}  // namespace aether
