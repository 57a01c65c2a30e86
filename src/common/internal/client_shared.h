// Private to the two HTTP clients (http_client.cc, blocking;
// async_http_client.cc): what both need — the URL split into what a
// request needs, TLS setup, and telling a connection the server closed.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/system/error_code.hpp>
#include <memory>
#include <string>

#include "common/result.h"

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

// Trusts `ca_file` (PEM) when set, else the system store (nothing with
// `insecure_skip_verify`, which turns verification off in
// SetUpClientTls). InvalidArgument for an unreadable ca_file, Internal
// when the system store cannot be loaded.
Result<std::unique_ptr<boost::asio::ssl::context>> NewClientTlsContext(const std::string& ca_file,
                                                                       bool insecure_skip_verify);

// Before the handshake: SNI for a host name (RFC 6066: not for an
// address), and the peer's certificate checked against `host` unless
// `insecure_skip_verify`.
template <typename Stream>
Status SetUpClientTls(boost::asio::ssl::stream<Stream>& stream, const std::string& host,
                      bool insecure_skip_verify) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  if (ec && !SSL_set_tlsext_host_name(stream.native_handle(), host.c_str())) {
    return Internal("cannot set TLS server name " + host);
  }
  if (!insecure_skip_verify) {
    stream.set_verify_mode(boost::asio::ssl::verify_peer);
    stream.set_verify_callback(boost::asio::ssl::host_name_verification(host));
  }
  return OkStatus();
}

// A failed handshake's error, with the certificate check's verdict when
// that is what failed: "certificate verify failed (self-signed certificate)".
std::string DescribeTlsFailure(const boost::system::error_code& ec, SSL* ssl);

}  // namespace aether::http_internal
