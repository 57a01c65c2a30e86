// A small synchronous HTTP/1.1 client (Boost.Beast): one request per
// connection, http:// and https://. For engines talking to the control
// plane, the CLI, and tests. Any thread may call it; each call runs its own
// private io_context, so calls are independent and may run concurrently.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/http_server.h"  // HttpResponse, HttpHeaders
#include "common/ip_address.h"
#include "common/result.h"

namespace aether {

struct HttpFetchOptions {
  // Larger response bodies fail with ResourceExhausted.
  uint64_t max_response_bytes = 64ull << 20;
  // https: trust this PEM file instead of the system store (a private CA, or
  // a self-signed server certificate).
  std::string ca_file;
  // https: accept any certificate. Only for development and tests.
  bool insecure_skip_verify = false;
  // When set, asked about every address the URL's host resolves to (an IP
  // URL: its address) before connecting; only addresses it accepts are
  // tried, so the connection goes to an address it checked and the name is
  // never resolved again (no DNS rebinding in between). When it accepts
  // none, HttpFetch fails with the status it returned for the first one.
  // Runs on the calling thread, during HttpFetch.
  std::function<Status(const IpAddress& address)> check_address;
};

// Sends one request and reads the whole response. `headers` are added as
// given; Host, Content-Length, User-Agent ("aether") and Connection: close
// are set unless present, and a non-empty body without a Content-Type is
// sent as application/json. Any status code is a successful Result: check
// response.status.
//
// Errors: InvalidArgument (bad URL, unsupported scheme), Unavailable
// ("cannot connect to 127.0.0.1:9090: Connection refused", TLS failures,
// a connection dropped mid-response), ResourceExhausted (response too
// large), DeadlineExceeded (the whole exchange took longer than `timeout`).
Result<HttpResponse> HttpFetch(std::string_view method, std::string_view url,
                               std::string_view body = {}, const HttpHeaders& headers = {},
                               std::chrono::milliseconds timeout = std::chrono::seconds(10),
                               const HttpFetchOptions& options = {});

// Percent-encodes one path segment or query value (RFC 3986 unreserved
// characters stay as they are).
std::string UrlEncode(std::string_view text);

// "HTTP 404: <the error of a JSON error body>", for logs and messages.
std::string DescribeHttpError(const HttpResponse& r);

}  // namespace aether
