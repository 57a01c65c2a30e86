// The HTTP/1.1 client for code that lives on an IO context and must not
// hold a thread per request in flight (the control plane's gateway): each
// exchange is a chain of asynchronous operations (Boost.Beast over Asio) on
// the IO context the caller names — an HttpServer's, given to its handlers
// as HttpRequest::io_context — and its callback runs there, so a handler's
// answer goes out without a hand-off between threads.
//
// Connections are kept alive per scheme://host:port, at most
// max_connections_per_host of them open (connecting, busy or idle); a
// request that finds them all busy waits for one, first come first served,
// within its timeout. A connection is used by one exchange at a time, and
// only after a complete answer that allows keep-alive is it used again: a
// request that timed out, failed or was cut off discards its connection.
//
// The blocking HttpClient (common/http_client.h) stays the client of code
// that runs on threads of its own; the two share URL parsing and TLS setup.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/http_server.h"  // HttpResponse, HttpHeaders
#include "common/result.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace aether {

struct AsyncHttpRequest {
  std::string method = "GET";
  std::string url{};  // http:// or https://
  // Not owned: must stay valid until the callback has been called. A
  // non-empty body without a Content-Type header is sent as
  // application/json.
  std::string_view body{};
  // Added as given (names and values must not hold CR, LF or NUL); Host and
  // User-Agent ("aether") are set unless present; Content-Length is always
  // the client's own.
  HttpHeaders headers{};
  // From Send to the whole answer: waiting for a connection, connecting,
  // TLS, sending and receiving.
  std::chrono::milliseconds timeout{10000};
};

struct AsyncHttpClientOptions {
  // Connections open to one scheme://host:port at once, busy or idle
  // (at least 1).
  size_t max_connections_per_host = 64;
  // Larger response bodies fail with ResourceExhausted.
  uint64_t max_response_bytes = 64ull << 20;
  // https: trust this PEM file instead of the system store.
  std::string ca_file{};
  // https: accept any certificate. Only for development and tests.
  bool insecure_skip_verify = false;
  // Stop() closes the connections of requests already sent, which then
  // end "cancelled", instead of waiting for their answers: for callers
  // whose requests may wait long for a reply (the dataplane's calls), where
  // a shutdown must not.
  bool abort_on_stop = false;
};

// A request's outcome. Any status code is a successful Result: check
// response.status; response.headers has all of the answer's header fields.
// Errors, as HttpClient::Send's:
//   InvalidArgument    a bad URL, method or header; an unreadable ca_file
//   Unavailable        "cannot resolve H" / "cannot connect to H:P: <reason>" (nothing
//                      was sent: safe to try elsewhere), a TLS failure, a connection
//                      lost mid-exchange, or "... cancelled" (the client stopped
//                      before the request was sent)
//   DeadlineExceeded   no whole answer within the timeout
//   ResourceExhausted  a response body over max_response_bytes
// A kept-alive connection that the server had closed meanwhile (nothing of
// the answer arrived) is retried once on a new connection.
using AsyncHttpCallback = std::function<void(Result<HttpResponse>)>;

// Thread-safety: Send from any thread; Stop and the destructor from a
// thread that runs none of the IO contexts the requests named.
class AsyncHttpClient {
 public:
  virtual ~AsyncHttpClient() = default;

  // Starts `request`; `done` is called once, on `io` (a null `io`: on the
  // client's own IO thread), which also gets the new connections the
  // request makes. `io` must keep running until Stop() returns. A request
  // refused outright (a bad URL or header, a stopped client) is answered
  // on the calling thread, before Send returns.
  virtual void Send(AsyncHttpRequest request, AsyncHttpCallback done,
                    boost::asio::io_context* io = nullptr) = 0;

  // From now on Send answers "cancelled", as do the requests waiting for a
  // connection; requests already sent finish (each bounded by its timeout;
  // with abort_on_stop, at once, "cancelled") and Stop waits for their
  // callbacks to return. Then it closes the idle
  // connections and joins the client's own IO thread. Idempotent; the
  // destructor calls it.
  virtual void Stop() = 0;
};

std::unique_ptr<AsyncHttpClient> NewAsyncHttpClient(AsyncHttpClientOptions options = {});

}  // namespace aether
