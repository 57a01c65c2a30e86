// Where an http-egress resource may send requests: its allow list
// (EgressAllowEntry in common/resource_config.h) applied twice.
//
//  1. To the URL's host and port, before anything is sent (CheckTarget).
//     A name matches a name entry literally; an IP URL matches an address
//     or range entry. A host that resolvers would read as an IPv4 address
//     in an unusual spelling ("2130706433", "0x7f.1", "127.1") is refused
//     outright: only the standard spelling is an address here.
//  2. To every address the host resolves to, before connecting
//     (CheckAddress, run by the HttpClient through HttpClientRequest::check_address;
//     the connection goes to an address that passed, never to a second
//     resolution, so DNS rebinding cannot swap it). Public addresses pass.
//     Loopback, private, link-local, CGNAT, unspecified, multicast,
//     broadcast and reserved addresses (IPv4-mapped, NAT64 and 6to4 forms
//     included; common/ip_address.h) pass only when an address or range
//     entry holding them allows the port; a cloud metadata address
//     (169.254.169.254, fd00:ec2::254, ...) only when an address entry is
//     exactly it. A name entry never does: "localhost" on the list does not
//     reach 127.0.0.1, "127.0.0.1" does.
//
// Immutable after construction: any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ip_address.h"
#include "common/resource_config.h"
#include "common/result.h"

namespace aether::workflow::resources {

// The host and port of an egress URL.
struct EgressTarget {
  std::string host;                  // lower case; an IP address in its standard spelling
  std::optional<IpAddress> address;  // set when the host is an IP address (mapped ones as IPv4)
  uint16_t port = 0;
  uint16_t default_port = 0;     // the scheme's: 80 or 443
  std::string ToString() const;  // "host:port", IPv6 in brackets
};

// The URL without its query and fragment, for messages and logs (a query
// may hold a key that has no place there).
std::string UrlForMessages(std::string_view url);
// `message` with every occurrence of `url` shown as UrlForMessages(url)
// (the HTTP client's errors carry the whole URL).
std::string HideUrlQuery(std::string message, std::string_view url);

// InvalidArgument for a URL that is not http(s), carries credentials, has
// no host, a bad port or an IPv4 address in an unusual spelling.
Result<EgressTarget> ParseEgressUrl(std::string_view url);

class EgressPolicy {
 public:
  // `allow`: entries as ParseHttpEgressConfig normalized them. An entry
  // that does not parse is ignored: a bad entry never widens the list.
  // `any_public` (an http-egress without a list, on an engine whose
  // [workflow] egress_default is "public"): every host and port passes
  // CheckTarget; CheckAddress still passes public addresses only.
  explicit EgressPolicy(const std::vector<std::string>& allow, bool any_public = false);

  // PermissionDenied when no entry allows the target's host and port.
  Status CheckTarget(const EgressTarget& target) const;

  // OkStatus when `target` may be reached at `address` (one of the
  // addresses its host resolved to, or the address it is); PermissionDenied
  // saying which kind of address it is and what entry would allow it.
  Status CheckAddress(const EgressTarget& target, const IpAddress& address) const;

 private:
  std::vector<EgressAllowEntry> entries_;
  bool any_public_ = false;
};

}  // namespace aether::workflow::resources
