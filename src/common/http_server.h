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
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/config.h"
#include "common/metrics.h"
#include "common/result.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace aether {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// A hop-by-hop header (RFC 9110 7.6.1: Connection, Keep-Alive, TE,
// Trailer, Transfer-Encoding, Upgrade, and any Proxy-*), which a proxy
// does not pass on. Case-insensitive.
bool IsHopByHopHeader(std::string_view name);

// An HTTP token (RFC 9110 5.6.2), what a method or a header name must be:
// one or more letters, digits and !#$%&'*+-.^_`|~ (no spaces, controls,
// delimiters or bytes past ASCII).
bool IsHttpToken(std::string_view s);

struct HttpRequest {
  std::string method;                        // as sent: "GET", "POST", ...
  std::string target;                        // raw request-target: "/a%20b?x=1"
  std::string path;                          // percent-decoded path of the target: "/a b"
  std::map<std::string, std::string> query;  // decoded ('+' is a space); last value wins
  HttpHeaders headers;                       // in arrival order, names as sent
  std::string body;
  std::string remote;  // peer "ip:port"
  int version = 11;    // 10 = HTTP/1.0, 11 = HTTP/1.1
  // The IO context of the connection's thread, which runs the handler
  // (null for a request no HttpServer read). A handler may start
  // asynchronous work on it (AsyncHttpClient, common/async_http_client.h):
  // its completions run on that thread, where a Responder answers without a
  // hand-off. Such work must be over before the server stops: pending
  // operations are dropped with the context.
  boost::asio::io_context* io_context = nullptr;

  // Case-insensitive lookup of the first header with this name; empty when
  // absent.
  std::string_view Header(std::string_view name) const;
  bool HasHeader(std::string_view name) const;
  // A non-negative integer query parameter (?since=42): nullopt when absent
  // or empty; InvalidArgument naming the parameter otherwise.
  Result<std::optional<int64_t>> QueryInt(const std::string& key) const;
};

// A response's Content-Type: a string, but for the usual one,
// application/json, which is held as a constant. It is one character past
// std::string's inline capacity, so every response made with it allocated
// (three a gateway invocation, one an /execute).
class ContentType {
 public:
  static constexpr std::string_view kJson = "application/json";

  // Implicit, as a std::string member's were: `r.content_type = "text/plain"`.
  ContentType() = default;  // application/json
  ContentType(const char* s) { assign(std::string_view(s)); }
  ContentType(std::string_view s) { assign(s); }
  ContentType(const std::string& s) { assign(std::string_view(s)); }
  ContentType(std::string&& s) : json_(s == kJson) {
    if (!json_) owned_ = std::move(s);
  }

  void assign(const char* data, size_t size) { assign(std::string_view(data, size)); }
  void assign(std::string_view s) {
    json_ = s == kJson;
    if (json_) {
      owned_.clear();
    } else {
      owned_.assign(s);
    }
  }
  void clear() {
    json_ = false;
    owned_.clear();
  }

  std::string_view view() const { return json_ ? kJson : std::string_view(owned_); }
  operator std::string_view() const { return view(); }
  bool empty() const { return view().empty(); }
  bool starts_with(std::string_view prefix) const { return view().starts_with(prefix); }
  friend bool operator==(const ContentType& a, std::string_view b) { return a.view() == b; }
  friend std::ostream& operator<<(std::ostream& os, const ContentType& c) { return os << c.view(); }

 private:
  bool json_ = true;
  std::string owned_;
};

struct HttpResponse {
  int status = 200;
  ContentType content_type;  // application/json by default; empty = no Content-Type
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

// Runs on the IO thread as soon as a request's header is parsed, before any
// of its body is read: `req` has everything but the body. A response refuses
// the request: it is sent at once and the body is never read (the
// connection then closes, unless the request had no body). nullopt lets the
// request on to the handler. Must not block; a check that throws gives 500.
// For authentication, so that an unauthenticated 4 MB upload costs a
// header, not 4 MB of buffering.
using HeaderCheck = std::function<std::optional<HttpResponse>(const HttpRequest&)>;

// A route's handler and the optional check that guards it.
struct GuardedHandler {
  HeaderCheck check;  // empty: every request reaches the handler
  Handler handler;
};

struct HttpServerOptions {
  std::string host = "127.0.0.1";  // IP literal or a name that resolves
  uint16_t port = 0;               // 0 = ephemeral; see HttpServer::port()
  uint64_t max_body = 4ull << 20;  // larger bodies: 413 and the connection closes
  // A kept-alive connection waiting for its next request is closed after
  // this long; so is a response the client does not read. Time spent in a
  // handler does not count: handlers enforce their own limits.
  std::chrono::nanoseconds idle_timeout = std::chrono::seconds(60);
  // The whole request header (and the TLS handshake) must arrive within
  // this long: from accept for a connection's first request, from the
  // first byte for later ones. Past it: 408 (or a plain close when nothing
  // arrived) — a slowloris client cannot hold a connection longer.
  std::chrono::nanoseconds header_timeout = std::chrono::seconds(10);
  // The body must arrive within body_timeout plus one second per
  // min_body_rate bytes received so far, i.e. keep up min_body_rate on
  // average after a grace of body_timeout. Past it: 408.
  std::chrono::nanoseconds body_timeout = std::chrono::seconds(10);
  uint64_t min_body_rate = 16 << 10;  // bytes per second
  // Open connections at most, in all and from one client address (an IPv4
  // address or an IPv6 /64); 0 per client = no per-client cap. A connection
  // over a cap is closed at once, without an answer, and counted.
  // max_connections is lowered to 3/4 of the open-file limit when that is
  // smaller, keeping descriptors for files and outgoing connections.
  size_t max_connections = 10000;
  size_t max_connections_per_client = 256;
  size_t io_threads = 1;
  // Starts each IO thread: runs `body` on a new thread and returns what
  // joins it. Empty: a std::thread. The engine starts guest threads
  // (wasm::GuestThread), whose stack lets a short guest run on the IO
  // thread itself.
  std::function<std::function<void()>(std::function<void()> body)> start_thread;
  std::string tls_cert;  // PEM paths; both set = HTTPS only
  std::string tls_key;
  // Stop() waits this long for in-flight requests before cutting them off.
  std::chrono::nanoseconds stop_timeout = std::chrono::seconds(5);
  // Not owned; must outlive the server. When set, the server records
  //   aether_http_connections                       open connections
  //   aether_http_connections_rejected_total{reason} over a cap: server_limit, client_limit
  //   aether_http_request_timeouts_total{phase}      header or body not received in time
  MetricsRegistry* metrics = nullptr;

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
  // the method: 405 with Allow (both, like a HeaderCheck's refusal, answered
  // on the header, without reading the body). HEAD falls back to the GET
  // handler (the body is dropped, Content-Length kept).
  void Route(std::string_view method, std::string_view path, Handler handler);
  void Route(std::string_view method, std::string_view path, GuardedHandler route);
  // Every path starting with `prefix` (e.g. "/api/functions/").
  void RoutePrefix(std::string_view method, std::string_view prefix, Handler handler);
  void RoutePrefix(std::string_view method, std::string_view prefix, GuardedHandler route);

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
