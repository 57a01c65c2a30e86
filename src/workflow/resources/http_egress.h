// http-egress: outbound HTTP from a workflow to an allow-list of hosts.
//
// Payload: a JSON request {"method"?, "url", "headers"?: {name: value},
// "body"?: string} or a bare URL (GET). "method" defaults to POST when a
// body is given, GET otherwise. http:// and https:// (verified against the
// system trust store); redirects are not followed (a 3xx is not a success).
//
// The allow list ("allow": comma list of EgressAllowEntry, see
// common/resource_config.h) is checked against the URL's host and port,
// then against every address the host resolves to; the request connects
// to an address that passed (egress_policy.h): a name on the list reaches
// public addresses only, loopback / private / link-local / metadata
// addresses need an address or CIDR entry holding them:
//   host, host:port        a DNS name on the scheme's default port (80 / 443), or that port
//   1.2.3.4[:port]         an IPv4 address; [::1][:port] an IPv6 one
//   10.0.0.0/8[:port]      a CIDR range; [fd00::/8][:port] for IPv6
// A host in an unusual IPv4 spelling ("2130706433", "0x7f.1") is
// InvalidArgument. Without a list (HttpEgressConfig::node_policy) the
// engine's [workflow] egress_default decides: "public" passes every host
// and port, and the address check above still refuses every non-public
// address; "none" refuses every request (PermissionDenied).
// Anything else is PermissionDenied, before the request (host and port) or
// at connect time (an address). Credentials in the URL, and the
// headers Host, Content-Length, Transfer-Encoding and Connection in the
// request, are refused (InvalidArgument): they could smuggle a request past
// the allow-list.
//
// Call: the response body for a 2xx; Internal "... answered 404: <start of
// the body>" otherwise. Cast: queued (bounded: ResourceExhausted when full)
// and performed on the resource's own thread; a 2xx body is cast to the
// output "response" when it is mapped, every failure goes to
// report_failure. Responses over max_response_bytes are ResourceExhausted;
// the whole exchange is bounded by timeout_ms (and by a call's timeout).
//
// "format": "edgeless": the payload is EDGELESS's HTTP request JSON
// (edgeless_http.h; url = http[s]://host + path), checked as above, and the
// reply EDGELESS's HTTP response JSON for every status (header names lower
// case).
#pragma once

#include <memory>

#include "common/http_server.h"  // HttpHeaders
#include "common/resource_config.h"
#include "workflow/resource.h"

namespace aether::workflow::resources {

// Queued casts waiting for the worker: at most
// ctx.limits.http_egress_queue_length, holding at most kEgressQueueBytes of
// payload.
inline constexpr uint64_t kEgressQueueBytes = 16ull << 20;

std::unique_ptr<Resource> NewHttpEgress(ResourceContext ctx, HttpEgressConfig config);

// Exposed for tests. The parsed payload.
struct EgressRequest {
  std::string method;
  std::string url;
  HttpHeaders headers;
  std::string body;
};
// InvalidArgument for a payload that is neither a JSON request nor a URL.
Result<EgressRequest> ParseEgressRequest(std::string_view payload);
// OkStatus when `url` is http(s) and its host[:port] is allowed (the
// address check needs DNS and happens when the request is made);
// InvalidArgument for a bad URL, PermissionDenied for a host not allowed.
Status CheckEgressUrl(std::string_view url, const std::vector<std::string>& allow);

}  // namespace aether::workflow::resources
