#include "common/ip_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <charconv>
#include <cstring>
#include <vector>

namespace aether {
namespace {

constexpr std::array<uint8_t, 12> kMappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

IpAddress V4(uint32_t value) {
  IpAddress a;
  a.bytes[0] = static_cast<uint8_t>(value >> 24);
  a.bytes[1] = static_cast<uint8_t>(value >> 16);
  a.bytes[2] = static_cast<uint8_t>(value >> 8);
  a.bytes[3] = static_cast<uint8_t>(value);
  return a;
}

IpAddress V4At(const IpAddress& a, size_t offset) {
  IpAddress out;
  std::memcpy(out.bytes.data(), a.bytes.data() + offset, 4);
  return out;
}

// Whether the first `prefix` bits of `a` and `b` agree.
bool SamePrefix(const std::array<uint8_t, 16>& a, const std::array<uint8_t, 16>& b, size_t prefix) {
  size_t whole = prefix / 8;
  if (std::memcmp(a.data(), b.data(), whole) != 0) return false;
  size_t rest = prefix % 8;
  if (rest == 0) return true;
  auto mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

// One number of a legacy IPv4 spelling: decimal, 0-prefixed octal or 0x hex.
std::optional<uint64_t> LegacyPart(std::string_view s) {
  int base = 10;
  if (s.size() > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
    if (s.empty()) return 0;  // "0x" is 0 to inet_aton and to browsers
  } else if (s.size() > 1 && s[0] == '0') {
    base = 8;
    s.remove_prefix(1);
  }
  if (s.empty() || s.size() > 32) return std::nullopt;
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

struct Range {
  const char* network;
  AddressKind kind;
};

// Checked in order; the first match wins (metadata before the ranges that
// hold it). Embedded IPv4 (mapped, NAT64, 6to4) is handled before this.
const std::vector<std::pair<IpNetwork, AddressKind>>& Ranges() {
  static const std::vector<std::pair<IpNetwork, AddressKind>> ranges = [] {
    constexpr Range kTable[] = {
        // Cloud metadata and platform endpoints: AWS, GCP, Azure, OpenStack
        // and Oracle (169.254.169.254), AWS ECS and EKS (169.254.170.2,
        // .23), Alibaba (100.100.100.200), Azure WireServer (168.63.129.16),
        // Oracle Classic (192.0.0.192), AWS IPv6 (fd00:ec2::254, ::23).
        {"169.254.169.254/32", AddressKind::kMetadata},
        {"169.254.170.2/32", AddressKind::kMetadata},
        {"169.254.170.23/32", AddressKind::kMetadata},
        {"100.100.100.200/32", AddressKind::kMetadata},
        {"168.63.129.16/32", AddressKind::kMetadata},
        {"192.0.0.192/32", AddressKind::kMetadata},
        {"fd00:ec2::254/128", AddressKind::kMetadata},
        {"fd00:ec2::23/128", AddressKind::kMetadata},
        // IPv4 (RFC 6890 and its updates).
        {"0.0.0.0/8", AddressKind::kUnspecified},
        {"10.0.0.0/8", AddressKind::kPrivate},
        {"100.64.0.0/10", AddressKind::kSharedCgnat},
        {"127.0.0.0/8", AddressKind::kLoopback},
        {"169.254.0.0/16", AddressKind::kLinkLocal},
        {"172.16.0.0/12", AddressKind::kPrivate},
        {"192.0.0.0/24", AddressKind::kReserved},
        {"192.0.2.0/24", AddressKind::kReserved},
        {"192.168.0.0/16", AddressKind::kPrivate},
        {"198.18.0.0/15", AddressKind::kReserved},
        {"198.51.100.0/24", AddressKind::kReserved},
        {"203.0.113.0/24", AddressKind::kReserved},
        {"224.0.0.0/4", AddressKind::kMulticast},
        {"255.255.255.255/32", AddressKind::kBroadcast},
        {"240.0.0.0/4", AddressKind::kReserved},
        // IPv6.
        {"::/128", AddressKind::kUnspecified},
        {"::1/128", AddressKind::kLoopback},
        {"64:ff9b:1::/48", AddressKind::kPrivate},  // local-use NAT64, inside ::/8
        {"::/8", AddressKind::kReserved},           // IPv4-compatible, IPv4-translated
        {"100::/64", AddressKind::kReserved},       // discard
        {"2001:db8::/32", AddressKind::kReserved},  // documentation
        {"2001::/23", AddressKind::kReserved},      // IETF: Teredo, benchmarking, ORCHID
        {"3fff::/20", AddressKind::kReserved},      // documentation
        {"fc00::/7", AddressKind::kPrivate},        // unique local
        {"fe80::/10", AddressKind::kLinkLocal},
        {"fec0::/10", AddressKind::kPrivate},  // site-local (deprecated)
        {"ff00::/8", AddressKind::kMulticast},
    };
    std::vector<std::pair<IpNetwork, AddressKind>> out;
    for (const Range& r : kTable) out.emplace_back(*ParseIpNetwork(r.network), r.kind);
    return out;
  }();
  return ranges;
}

}  // namespace

IpAddress IpAddress::Unmapped() const {
  if (!v6 || std::memcmp(bytes.data(), kMappedPrefix.data(), kMappedPrefix.size()) != 0) {
    return *this;
  }
  return V4At(*this, 12);
}

std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), buf, sizeof buf);
  return buf;
}

std::optional<IpAddress> ParseIpAddress(std::string_view text) {
  // inet_pton reads a C string: "1.2.3.4\0junk" must not pass as 1.2.3.4.
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN || text.find('\0') != text.npos) {
    return std::nullopt;
  }
  std::string s(text);
  IpAddress a;
  if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) return a;
  a.v6 = true;
  if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) return a;
  return std::nullopt;
}

std::optional<IpAddress> ParseIpv4AnySpelling(std::string_view text) {
  // A trailing dot is the DNS root; resolvers and browsers drop it.
  if (text.ends_with('.')) text.remove_suffix(1);
  std::vector<uint64_t> parts;
  size_t start = 0;
  while (start <= text.size()) {
    size_t dot = text.find('.', start);
    if (dot == std::string_view::npos) dot = text.size();
    std::optional<uint64_t> p = LegacyPart(text.substr(start, dot - start));
    if (!p || parts.size() == 4) return std::nullopt;
    parts.push_back(*p);
    start = dot + 1;
  }
  // Every part but the last is one byte; the last fills what is left.
  uint64_t value = 0;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    if (parts[i] > 255) return std::nullopt;
    value |= parts[i] << (8 * (3 - i));
  }
  size_t last_bytes = 5 - parts.size();
  if (parts.back() >= (uint64_t{1} << (8 * last_bytes))) return std::nullopt;
  value |= parts.back();
  return V4(static_cast<uint32_t>(value));
}

bool LooksLikeIpv4(std::string_view host) {
  if (host.ends_with('.')) host.remove_suffix(1);
  std::string_view last = host.substr(host.rfind('.') + 1);  // npos + 1 == 0
  if (last.empty()) return false;
  if (last.size() >= 2 && last[0] == '0' && (last[1] == 'x' || last[1] == 'X')) {
    last.remove_prefix(2);
    return last.find_first_not_of("0123456789abcdefABCDEF") == std::string_view::npos;
  }
  return last.find_first_not_of("0123456789") == std::string_view::npos;
}

std::optional<IpAddress> FromSockaddr(const sockaddr* sa) {
  IpAddress a;
  if (sa->sa_family == AF_INET) {
    std::memcpy(a.bytes.data(), &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, 4);
    return a;
  }
  if (sa->sa_family == AF_INET6) {
    a.v6 = true;
    std::memcpy(a.bytes.data(), &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, 16);
    return a;
  }
  return std::nullopt;
}

bool IpNetwork::Contains(const IpAddress& address) const {
  IpAddress a = base.v6 ? address : address.Unmapped();
  return a.v6 == base.v6 && SamePrefix(a.bytes, base.bytes, prefix);
}

std::string IpNetwork::ToString() const { return base.ToString() + "/" + std::to_string(prefix); }

std::optional<IpNetwork> ParseIpNetwork(std::string_view text) {
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  std::optional<IpAddress> base = ParseIpAddress(text.substr(0, slash));
  if (!base) return std::nullopt;
  std::string_view len = text.substr(slash + 1);
  size_t prefix = 0;
  auto [end, ec] = std::from_chars(len.data(), len.data() + len.size(), prefix);
  if (len.empty() || (len.size() > 1 && len[0] == '0') || ec != std::errc() ||
      end != len.data() + len.size() || prefix > base->bits()) {
    return std::nullopt;
  }
  // Host bits set ("10.1.2.3/8") is most likely a typo for a narrower range.
  std::array<uint8_t, 16> masked{};
  for (size_t bit = 0; bit < prefix; ++bit) {
    masked[bit / 8] |= base->bytes[bit / 8] & (0x80 >> (bit % 8));
  }
  if (masked != base->bytes) return std::nullopt;
  return IpNetwork{*base, prefix};
}

AddressKind ClassifyAddress(const IpAddress& address) {
  IpAddress a = address.Unmapped();
  if (a.v6) {
    // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) reach the IPv4 address
    // they carry.
    static const IpNetwork kNat64 = *ParseIpNetwork("64:ff9b::/96");
    static const IpNetwork k6to4 = *ParseIpNetwork("2002::/16");
    if (kNat64.Contains(a)) return ClassifyAddress(V4At(a, 12));
    if (k6to4.Contains(a)) return ClassifyAddress(V4At(a, 2));
  }
  for (const auto& [network, kind] : Ranges()) {
    if (network.Contains(a)) return kind;
  }
  // IPv6 global unicast is 2000::/3; everything else is not (yet) assigned.
  if (a.v6 && (a.bytes[0] & 0xe0) != 0x20) return AddressKind::kReserved;
  return AddressKind::kGlobal;
}

std::string_view AddressKindName(AddressKind kind) {
  switch (kind) {
    case AddressKind::kGlobal:
      return "public";
    case AddressKind::kUnspecified:
      return "unspecified";
    case AddressKind::kLoopback:
      return "loopback";
    case AddressKind::kPrivate:
      return "private";
    case AddressKind::kSharedCgnat:
      return "shared (CGNAT)";
    case AddressKind::kLinkLocal:
      return "link-local";
    case AddressKind::kMulticast:
      return "multicast";
    case AddressKind::kBroadcast:
      return "broadcast";
    case AddressKind::kReserved:
      return "reserved";
    case AddressKind::kMetadata:
      return "cloud metadata";
  }
  return "unknown";
}

}  // namespace aether
