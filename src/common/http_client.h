// The one HTTP/1.1 client of the tree (Boost.Beast over blocking calls with
// deadlines): the engine's control link and workflow poller, the dataplane
// between engines, the gateway, http-egress, the CLI and the tests all send
// through an HttpClient. Code takes an `HttpClient&` (or a pointer in its
// options) so that unit tests can hand it a FakeHttpClient
// (common/testing/fake_http_client.h) instead of sockets.
//
// What a request may ask for:
//   * a deadline for the whole exchange (connect, TLS, send, receive);
//   * cancellation from another thread (a std::stop_token): a request in
//     flight ends at once, so a long-poll may wait 30 s and Stop() still
//     returns at once;
//   * a check of every address the host resolves to before connecting
//     (http-egress's SSRF defence; docs/security.md).
// A client made with max_idle_per_host > 0 keeps connections alive between
// requests to the same scheme://host:port (no TCP or TLS handshake per
// request; no ephemeral ports piling up in TIME_WAIT under load).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>

#include "common/http_server.h"  // HttpResponse, HttpHeaders
#include "common/ip_address.h"
#include "common/result.h"

namespace aether {

// Members have initializers so that designated initializers may name any
// subset ({.method = "POST", .url = u}).
struct HttpClientRequest {
  std::string method = "GET";
  std::string url{};  // http:// or https://
  // Not owned: must stay valid until Send returns. A non-empty body
  // without a Content-Type header is sent as application/json.
  std::string_view body{};
  // Added as given; Host, Content-Length and User-Agent ("aether") are set
  // unless present, and Connection: close when the connection will not be
  // kept.
  HttpHeaders headers{};
  // For the whole exchange, connecting included.
  std::chrono::milliseconds timeout{10000};
  // A stop request ends the request at once (from any thread); nothing of
  // a cancelled request is kept. A default token never stops.
  std::stop_token cancel{};
  // When set, asked about every address the URL's host resolves to (an IP
  // URL: its address) before connecting; only addresses it accepts are
  // tried, so the connection goes to an address it checked and the name is
  // never resolved again (no DNS rebinding in between). When it accepts
  // none, Send fails with the status it returned for the first one. Such a
  // request always gets a connection of its own (never a kept one, and its
  // connection is not kept). Runs on the calling thread, during Send.
  std::function<Status(const IpAddress& address)> check_address{};
};

// Thread-safety: Send from any number of threads at once.
class HttpClient {
 public:
  virtual ~HttpClient() = default;

  // Sends one request and reads the whole response. Any status code is a
  // successful Result: check response.status. Errors:
  //   InvalidArgument    a bad URL, an unsupported scheme, an unreadable ca_file
  //   Unavailable        "cannot resolve H" / "cannot connect to H:P: <reason>" (nothing
  //                      was sent: safe to try elsewhere), a TLS failure, a connection
  //                      lost mid-exchange, or "... cancelled"
  //   DeadlineExceeded   connected, but no whole answer within the timeout
  //   ResourceExhausted  a response body over max_response_bytes
  //   PermissionDenied   (or what check_address returned) no address was accepted
  // A kept-alive connection that the server had closed meanwhile (nothing
  // of the answer arrived) is retried once on a new connection.
  virtual Result<HttpResponse> Send(const HttpClientRequest& request) = 0;

  // Send, for the common case.
  Result<HttpResponse> Fetch(std::string_view method, std::string_view url,
                             std::string_view body = {}, HttpHeaders headers = {},
                             std::chrono::milliseconds timeout = std::chrono::seconds(10));
};

struct HttpClientOptions {
  // Idle connections kept per scheme://host:port for later requests; 0 =
  // one connection per request (sent with Connection: close).
  size_t max_idle_per_host = 0;
  // Larger response bodies fail with ResourceExhausted.
  uint64_t max_response_bytes = 64ull << 20;
  // https: trust this PEM file instead of the system store (a private CA, or
  // a self-signed server certificate).
  std::string ca_file{};
  // https: both or neither — the certificate and key shown to a server
  // that asks for one (etcd with --client-cert-auth).
  std::string cert_file{};
  std::string key_file{};
  // https: accept any certificate. Only for development and tests.
  bool insecure_skip_verify = false;
};

// The real client. Idle connections are closed when it is destroyed;
// requests must not be in flight then.
std::unique_ptr<HttpClient> NewHttpClient(HttpClientOptions options = {});

// True for Send's errors that mean the request never left this process
// ("cannot resolve H", "cannot connect to H:P"): safe to send elsewhere,
// even when it is not idempotent.
bool NothingWasSent(const Status& send_error);

// Percent-encodes one path segment or query value (RFC 3986 unreserved
// characters stay as they are).
std::string UrlEncode(std::string_view text);

// "HTTP 404: <the error of a JSON error body>", for logs and messages.
std::string DescribeHttpError(const HttpResponse& r);

}  // namespace aether
