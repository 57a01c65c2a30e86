// IP addresses for egress policy: strict parsing, the legacy IPv4 spellings
// that resolvers still accept, CIDR ranges, and what kind of address one is
// (loopback, private, cloud metadata, ...). Pure functions and values: any
// thread.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

struct sockaddr;

namespace aether {

// An IPv4 or IPv6 address. IPv4 uses bytes[0..3]. An IPv4-mapped IPv6
// address (::ffff:a.b.c.d) stays IPv6 here; Unmapped() gives the IPv4 one.
struct IpAddress {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};

  size_t bits() const { return v6 ? 128 : 32; }
  // ::ffff:a.b.c.d as a.b.c.d; any other address as is.
  IpAddress Unmapped() const;
  // 127.0.0.1, ::1 (RFC 5952: lower case, "::" for the longest zero run).
  std::string ToString() const;

  bool operator==(const IpAddress&) const = default;
};

// Strict literals: dotted decimal IPv4 with four parts and no leading zeros
// ("127.0.0.1"), or IPv6 without brackets or zone ("::1",
// "::ffff:127.0.0.1"). Anything else is nullopt.
std::optional<IpAddress> ParseIpAddress(std::string_view text);

// The IPv4 spellings inet_aton(3), getaddrinfo(3) and browsers accept: one
// to four parts, each decimal, octal (leading 0) or hex (0x), the last part
// filling the remaining bytes: "2130706433", "0x7f.1", "017700000001",
// "127.1" are all 127.0.0.1. nullopt when `text` is not such a spelling.
std::optional<IpAddress> ParseIpv4AnySpelling(std::string_view text);

// True when a URL host would be taken for an IPv4 address by a resolver or
// a browser: its last dot-separated label is a number (decimal, or 0x hex).
// Such a host is an address (maybe badly spelled), never a DNS name.
bool LooksLikeIpv4(std::string_view host);

// From a socket address (AF_INET or AF_INET6); nullopt for other families.
std::optional<IpAddress> FromSockaddr(const sockaddr* sa);

// A CIDR range: "10.0.0.0/8", "fd00::/8". Host bits must be zero.
struct IpNetwork {
  IpAddress base;
  size_t prefix = 0;

  bool Contains(const IpAddress& address) const;  // IPv4-mapped addresses match IPv4 ranges
  std::string ToString() const;                   // "10.0.0.0/8"
};
std::optional<IpNetwork> ParseIpNetwork(std::string_view text);

// What an address is, for deciding whether a guest may reach it. Anything
// but kGlobal is refused by http-egress unless its allow list names it.
enum class AddressKind {
  kGlobal,       // public unicast
  kUnspecified,  // 0.0.0.0/8, :: (connecting to 0.0.0.0 reaches this host)
  kLoopback,     // 127.0.0.0/8, ::1
  kPrivate,      // RFC 1918, fc00::/7 (ULA), fec0::/10, 64:ff9b:1::/48
  kSharedCgnat,  // 100.64.0.0/10 (RFC 6598)
  kLinkLocal,    // 169.254.0.0/16, fe80::/10
  kMulticast,    // 224.0.0.0/4, ff00::/8
  kBroadcast,    // 255.255.255.255
  kReserved,     // documentation, benchmarking, 240.0.0.0/4, IETF and non-unicast IPv6
  kMetadata,     // cloud instance metadata: 169.254.169.254, fd00:ec2::254, ...
};

// IPv4-mapped, NAT64 (64:ff9b::/96) and 6to4 (2002::/16) addresses are
// classified by the IPv4 address they carry, so ::ffff:127.0.0.1 is
// loopback and 2002:a9fe:a9fe:: is metadata.
AddressKind ClassifyAddress(const IpAddress& address);

// "loopback", "private", "cloud metadata", ... for messages.
std::string_view AddressKindName(AddressKind kind);

}  // namespace aether
