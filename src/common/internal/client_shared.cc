#include "common/internal/client_shared.h"

#include <boost/asio/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/url/parse.hpp>

namespace aether::http_internal {

namespace asio = boost::asio;
namespace ssl = asio::ssl;

std::string Url::Where() const {
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + port;
}

Result<Url> ParseUrl(const std::string& url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return InvalidArgument("invalid URL \"" + url + "\": " + parsed.error().message());
  // Boost.URL 1.81 reads "http://1.2.3.4.example.com/" as host 1.2.3.4
  // with path ".example.com/" (boostorg/url#770): refuse rather than send
  // the request to another host than the one the URL names.
  if (std::string_view path = parsed->encoded_path(); !path.empty() && !path.starts_with('/')) {
    return InvalidArgument("cannot tell the host of the URL \"" + url +
                           "\" (a host made of an IPv4 address and more labels is not supported)");
  }
  Url u;
  std::string scheme = std::string(parsed->scheme());
  if (scheme == "https") {
    u.https = true;
  } else if (scheme != "http") {
    return InvalidArgument("unsupported URL scheme \"" + scheme + "\" in " + url +
                           " (use http or https)");
  }
  if (parsed->host_type() == boost::urls::host_type::ipv6) {
    u.host = parsed->host_address();
  } else {
    u.host = parsed->host();
  }
  if (u.host.empty()) return InvalidArgument("URL has no host: " + url);
  // A decoded %00 would cut the name the resolver sees short.
  if (u.host.find('\0') != std::string::npos) return InvalidArgument("NUL in the host of " + url);
  u.port = parsed->has_port() ? std::string(parsed->port()) : (u.https ? "443" : "80");
  u.authority = std::string(parsed->encoded_host_and_port());
  u.target = std::string(parsed->encoded_path());
  if (u.target.empty()) u.target = "/";
  if (parsed->has_query()) u.target += "?" + std::string(parsed->encoded_query());
  u.key = scheme + "://" + u.Where();
  return u;
}

bool ConnectionClosed(const boost::system::error_code& ec) {
  return ec == boost::beast::http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == ssl::error::stream_truncated;
}

}  // namespace aether::http_internal
