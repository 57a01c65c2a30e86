// EDGELESS's HTTP messages (its edgeless_http crate, as serde_json writes
// them): what an http-ingress with "format": "edgeless" calls its target
// with, and the reply it expects back. Functions built with EDGELESS's SDK
// parse these; docs/edgeless.md shows both.
//
//   request:  {"method":"Post","protocol":"Unknown","host":"","path":"/hello",
//              "body":[104,105],"headers":{}}
//   response: {"body":[111,107] | null,"status":200,"headers":{"content-type":"..."}}
//
// Pure functions: any thread.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace aether::workflow {

// EDGELESS's name of an HTTP method ("POST" -> "Post"), or nullopt for a
// method EDGELESS has no name for (it knows GET, HEAD, POST, PUT, DELETE,
// PATCH).
std::optional<std::string_view> EdgelessMethod(std::string_view method);

// The headers of a request as EDGELESS's ingress gives them to a function:
// names in lower case (the last of a name wins), without the hop-by-hop
// ones (Connection, Keep-Alive, Transfer-Encoding, TE, Trailer, Upgrade,
// Proxy-*), Host and Content-Length (the JSON has the host and the body),
// and Aether's own (X-Aether-*, X-Forwarded-Host).
std::map<std::string, std::string> EdgelessHeaders(
    const std::vector<std::pair<std::string, std::string>>& headers);

// The request as JSON. `method` must be one EdgelessMethod knows.
std::string EncodeEdgelessRequest(std::string_view method, std::string_view host,
                                  std::string_view path, std::string_view body,
                                  const std::map<std::string, std::string>& headers);

struct EdgelessResponse {
  int status = 200;
  std::string body;
  std::map<std::string, std::string> headers;  // names lower-cased
};

struct EdgelessRequest {
  std::string method;  // upper case: "POST"
  bool https = false;  // "protocol": "HTTPS" (else http, as EDGELESS's egress does)
  std::string host;
  std::string path;
  std::string body;
  std::map<std::string, std::string> headers;
};

// A function's request to an http-egress of that format. InvalidArgument
// naming what is wrong (not JSON, a method EDGELESS does not name, a host
// or path that is not a string, a body that is not bytes, ...).
Result<EdgelessRequest> DecodeEdgelessRequest(std::string_view json);

// The response as JSON, for the function that called an http-egress.
std::string EncodeEdgelessResponse(int status, std::string_view body,
                                   const std::map<std::string, std::string>& headers);

// Of a function's reply's headers (names lower-cased, as
// DecodeEdgelessResponse leaves them), those an http-ingress passes on to
// its client, in name order: not Content-Type (the reply carries it apart),
// Content-Length, Server, Date, hop-by-hop or X-Aether-* headers, and only
// names that are tokens with values of visible ASCII, space and tab (a CR
// or LF would split the response). At most kMaxEdgelessResponseHeaders of
// them and kMaxEdgelessResponseHeaderBytes of names and values; the rest
// are left out.
constexpr size_t kMaxEdgelessResponseHeaders = 64;
constexpr size_t kMaxEdgelessResponseHeaderBytes = size_t{16} * 1024;
std::vector<std::pair<std::string, std::string>> EdgelessResponseHeaders(
    const std::map<std::string, std::string>& headers);

// A function's reply. InvalidArgument naming what is wrong: not JSON, not
// an object, a status outside 100..599, a body that is not null or a list
// of bytes (0..255), headers that are not an object of strings.
Result<EdgelessResponse> DecodeEdgelessResponse(std::string_view json);

}  // namespace aether::workflow
