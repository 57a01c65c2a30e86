// HTTP/1.1 server (Boost.Beast on Asio) for the engine and control plane
// APIs, plus the request/response types the HTTP client shares.
//
// Model: `io_threads` threads, each running its own io_context; one acceptor
// hands connections round-robin to them, and a connection lives on one
// thread for its whole life, so no connection state needs a lock. Requests
// on one connection are processed strictly in order: the next request is
// read only after the previous response is written (pipelining-safe).
//
// Handlers are asynchronous: a handler runs on the connection's IO thread
// and must not block it; it gets a Responder it may call from ANY thread,
// now or later (e.g. from an executor worker). The first call wins, later
// calls are ignored; a Responder destroyed without being called answers
// 500 so a connection never hangs. A handler that throws gets a 500.
#pragma once

#include <boost/json/fwd.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/config.h"
#include "common/result.h"

namespace aether {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;   // as sent: "GET", "POST", ...
  std::string target;   // raw request-target: "/a%20b?x=1"
  std::string path;     // percent-decoded path of the target: "/a b"
  std::map<std::string, std::string> query;  // decoded ('+' is a space); last value wins
  HttpHeaders headers;  // in arrival order, names as sent
  std::string body;
  std::string remote;   // peer "ip:port"
  int version = 11;     // 10 = HTTP/1.0, 11 = HTTP/1.1

  // Case-insensitive lookup of the first header with this name; empty when
  // absent.
  std::string_view Header(std::string_view name) const;
  bool HasHeader(std::string_view name) const;
  // A non-negative integer query parameter (?since=42): nullopt when absent
  // or empty; InvalidArgument naming the parameter otherwise.
  Result<std::optional<int64_t>> QueryInt(const std::string& key) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";  // empty = no Content-Type
  std::string body;
  // Extra headers. The server writes Content-Length and Connection itself
  // and ignores those two here.
  HttpHeaders headers;

  // Case-insensitive lookup, as HttpRequest::Header.
  std::string_view Header(std::string_view name) const;
};

// {"error": message, "code": code}, JSON-escaped (invalid UTF-8 replaced).
HttpResponse JsonError(int status, std::string_view code, std::string_view message);
// A non-OK Status as a JSON error: the code name (CodeName) and an HTTP
// status by the usual mapping (InvalidArgument 400, Unauthenticated 401,
// PermissionDenied 403, NotFound 404, AlreadyExists and FailedPrecondition
// 409, ResourceExhausted 429, Unavailable 503, DeadlineExceeded 504, else 500).
HttpResponse JsonError(const Status& status);
// 200 with the compact serialization of `v`.
HttpResponse JsonOk(const boost::json::value& v);

using Responder = std::function<void(HttpResponse)>;
using Handler = std::function<void(HttpRequest&&, Responder)>;

struct HttpServerOptions {
  std::string host = "127.0.0.1";  // IP literal or a name that resolves
  uint16_t port = 0;               // 0 = ephemeral; see HttpServer::port()
  uint64_t max_body = 4ull << 20;  // larger bodies: 413 and the connection closes
  // A connection with no request in flight is closed after this long
  // without progress (also bounds slow reads and writes). Time spent in a
  // handler does not count: handlers enforce their own limits.
  std::chrono::nanoseconds idle_timeout = std::chrono::seconds(60);
  size_t io_threads = 1;
  std::string tls_cert;  // PEM paths; both set = HTTPS only
  std::string tls_key;
  // Stop() waits this long for in-flight requests before cutting them off.
  std::chrono::nanoseconds stop_timeout = std::chrono::seconds(5);

  // The [server] section of the config; `default_port` when it says 0.
  static HttpServerOptions FromConfig(const ServerConfig& config, uint16_t default_port);
};

// Thread-safety: Route/RoutePrefix only before Start(); Start, Stop and the
// destructor from one controlling thread; port() and url() after a
// successful Start() from any thread.
class HttpServer {
 public:
  explicit HttpServer(HttpServerOptions options);
  ~HttpServer();  // Stop()s
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Exact path. Routing: the exact path first, then the longest matching
  // prefix; that path entry alone decides. No entry: 404; an entry without
  // the method: 405 with Allow. HEAD falls back to the GET handler (the
  // body is dropped, Content-Length kept).
  void Route(std::string_view method, std::string_view path, Handler handler);
  // Every path starting with `prefix` (e.g. "/api/functions/").
  void RoutePrefix(std::string_view method, std::string_view prefix, Handler handler);

  // Binds, listens and starts the IO threads. Errors: Unavailable
  // ("cannot listen on 127.0.0.1:9091: Address already in use"),
  // InvalidArgument for a bad host or unreadable TLS files,
  // FailedPrecondition when already started.
  Status Start();
  // Graceful: stops accepting, closes idle connections, lets in-flight
  // requests finish (their responses carry Connection: close) for up to
  // stop_timeout, then closes everything and joins the IO threads.
  // Idempotent. Must not be called from an IO thread (i.e. from a handler).
  void Stop();

  uint16_t port() const;    // the bound port
  std::string url() const;  // "http://127.0.0.1:PORT" (https with TLS)

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Blocks the calling thread until SIGINT or SIGTERM arrives (an Asio
// signal_set on a private io_context, so it works whichever thread the
// kernel delivers the signal to, and without blocking signals in other
// threads first). Used by main() before HttpServer::Stop().
void WaitForShutdownSignal();

}  // namespace aether
