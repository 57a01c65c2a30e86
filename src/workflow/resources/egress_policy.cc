#include "workflow/resources/egress_policy.h"

#include <algorithm>
#include <boost/url/parse.hpp>
#include <cctype>
#include <charconv>

#include "common/json_util.h"

namespace aether::workflow::resources {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool PortAllowed(const EgressAllowEntry& e, const EgressTarget& t) {
  return e.port == 0 ? t.port == t.default_port : t.port == e.port;
}

// The host of a parsed URL as a name or an address.
Status SetHost(const boost::urls::url_view& url, EgressTarget* t) {
  std::string host;
  switch (url.host_type()) {
    case boost::urls::host_type::ipv6:
      host = url.host_address();
      break;
    case boost::urls::host_type::ipvfuture:
      return InvalidArgument("http-egress: unsupported IP address in the URL");
    default:
      host = url.host();
      break;  // percent-decoded, as a resolver would see it
  }
  if (host.empty()) return InvalidArgument("http-egress: the URL has no host");
  std::optional<IpAddress> address;
  if (url.host_type() == boost::urls::host_type::ipv6) {
    address = ParseIpAddress(host);
    if (!address) return InvalidArgument("http-egress: invalid IPv6 address in the URL");
  } else if (LooksLikeIpv4(host)) {
    address = ParseIpAddress(host);
    if (!address || address->v6) {
      // getaddrinfo would connect "http://2130706433/" to 127.0.0.1.
      std::optional<IpAddress> legacy = ParseIpv4AnySpelling(host);
      if (!legacy)
        return InvalidArgument("http-egress: invalid IPv4 address \"" + SanitizeUtf8(host) +
                               "\" in the URL");
      return InvalidArgument("http-egress: \"" + SanitizeUtf8(host) +
                             "\" is an unusual spelling of the IPv4 address " + legacy->ToString() +
                             "; write " + legacy->ToString());
    }
  }
  if (address) {
    t->address = address->Unmapped();
    t->host = t->address->ToString();
    return OkStatus();
  }
  // The resolver gets a C string: a decoded "%00" would cut the name short,
  // and no allow entry holds anything but these characters anyway.
  for (char c : host) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '-' && c != '.' && c != '_') {
      return InvalidArgument("http-egress: invalid host name \"" + SanitizeUtf8(host) +
                             "\" in the URL");
    }
  }
  t->host = Lower(host);
  return OkStatus();
}

}  // namespace

std::string UrlForMessages(std::string_view url) {
  return std::string(url.substr(0, url.find_first_of("?#")));
}

std::string HideUrlQuery(std::string message, std::string_view url) {
  std::string shown = UrlForMessages(url);
  if (shown.size() == url.size()) return message;
  for (size_t at = message.find(url); at != std::string::npos;
       at = message.find(url, at + shown.size())) {
    message.replace(at, url.size(), shown);
  }
  return message;
}

std::string EgressTarget::ToString() const {
  bool v6 = address && address->v6;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<EgressTarget> ParseEgressUrl(std::string_view url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) {
    return InvalidArgument("http-egress: invalid URL \"" + SanitizeUtf8(UrlForMessages(url)) +
                           "\": " + parsed.error().message());
  }
  std::string_view scheme = parsed->scheme();
  bool https = scheme == "https";
  if (!https && scheme != "http") {
    return InvalidArgument("http-egress: unsupported URL scheme \"" + SanitizeUtf8(scheme) +
                           "\" (use http:// or https://)");
  }
  if (parsed->has_userinfo()) {
    return InvalidArgument(
        "http-egress: credentials in the URL are not supported (send an Authorization header)");
  }
  // Boost.URL 1.81 reads "http://1.2.3.4.evil.com/x" as host 1.2.3.4 and
  // path ".evil.com/x" (boostorg/url#770); after an authority a path
  // starts with '/', so anything else is that misreading.
  if (std::string_view path = parsed->encoded_path(); !path.empty() && !path.starts_with('/')) {
    return InvalidArgument("http-egress: cannot tell the host of \"" +
                           SanitizeUtf8(UrlForMessages(url)) +
                           "\" (a host made of an IPv4 address and more labels is not supported)");
  }
  EgressTarget t;
  RETURN_IF_ERROR(SetHost(*parsed, &t));
  t.default_port = https ? 443 : 80;
  t.port = t.default_port;
  if (parsed->has_port()) {
    std::string_view p = parsed->port();
    uint32_t port = 0;
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
    if (ec != std::errc() || end != p.data() + p.size() || port == 0 || port > 65535) {
      return InvalidArgument("http-egress: invalid port in the URL");
    }
    t.port = static_cast<uint16_t>(port);
  }
  return t;
}

EgressPolicy::EgressPolicy(const std::vector<std::string>& allow, bool any_public)
    : any_public_(any_public) {
  for (const std::string& raw : allow) {
    Result<EgressAllowEntry> e = ParseEgressAllowEntry(raw);
    if (e.ok()) entries_.push_back(std::move(*e));
  }
}

Status EgressPolicy::CheckTarget(const EgressTarget& target) const {
  if (any_public_) return OkStatus();  // where it resolves to is checked at connect
  for (const EgressAllowEntry& e : entries_) {
    if (!PortAllowed(e, target)) continue;
    bool host_ok = e.kind == EgressAllowEntry::Kind::kName
                       ? !target.address && target.host == e.name
                       : target.address && e.network.Contains(*target.address);
    if (host_ok) return OkStatus();
  }
  return PermissionDenied("http-egress: " + SanitizeUtf8(target.ToString()) +
                          " is not in the allow list of this resource");
}

Status EgressPolicy::CheckAddress(const EgressTarget& target, const IpAddress& address) const {
  AddressKind kind = ClassifyAddress(address);
  if (kind == AddressKind::kGlobal) return OkStatus();
  IpAddress a = address.Unmapped();
  for (const EgressAllowEntry& e : entries_) {
    if (e.kind == EgressAllowEntry::Kind::kName || !PortAllowed(e, target)) continue;
    // A range opened for internal services must not open the metadata
    // service inside it (100.64.0.0/10 holds Alibaba's, 169.254.0.0/16 most).
    if (kind == AddressKind::kMetadata && e.kind != EgressAllowEntry::Kind::kAddress) continue;
    if (e.network.Contains(a)) return OkStatus();
  }
  std::string where = target.address ? "" : SanitizeUtf8(target.host) + " resolves to ";
  std::string entry = a.v6 ? "[" + a.ToString() + "]" : a.ToString();
  if (target.port != target.default_port) entry += ":" + std::to_string(target.port);
  std::string how =
      kind == AddressKind::kMetadata
          ? "only an allow entry that is exactly " + entry + " reaches it"
          : "only an allow entry naming it (" + entry + ") or a CIDR range holding it reaches it";
  return PermissionDenied("http-egress: " + where + a.ToString() + " (" +
                          std::string(AddressKindName(kind)) + "); " + how);
}

}  // namespace aether::workflow::resources
