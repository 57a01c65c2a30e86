// Private to the two HTTP clients (http_client.cc, blocking;
// async_http_client.cc): what both need — the URL split into what a
// request needs and telling a connection the server closed (their TLS
// setup is common/tls_client.h).
#pragma once

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/system/error_code.hpp>
#include <memory>
#include <string>

#include "common/result.h"
#include "common/tls_client.h"

namespace aether::http_internal {

struct Url {
  bool https = false;
  std::string host;  // for DNS, SNI and verification
  std::string port;
  std::string authority;  // Host header
  std::string target;     // path and query, "/" at least
  std::string key;        // scheme://host:port: which kept connections fit

  // host:port, an IPv6 host in brackets: for messages.
  std::string Where() const;
};

// InvalidArgument for a malformed URL, a scheme other than http and https,
// or a host the parser cannot be trusted with.
Result<Url> ParseUrl(const std::string& url);

// The server closed the connection (end of stream, reset, broken pipe, a
// TLS stream cut short): for a kept connection that had received nothing
// of the answer, it had closed it while the connection was idle.
bool ConnectionClosed(const boost::system::error_code& ec);

}  // namespace aether::http_internal
