// TLS for the client side of a connection: what the HTTP clients
// (http_client.cc, async_http_client.cc) and the etcd store's watch stream
// (control/etcd/revision_watch.cc) set up before a handshake.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/system/error_code.hpp>
#include <memory>
#include <string>

#include "common/result.h"

namespace aether {

struct ClientTlsOptions {
  // Trust this PEM file instead of the system store (a private CA, or a
  // self-signed server certificate).
  std::string ca_file{};
  // Both or neither: the certificate (PEM, its chain after it) and key this
  // client shows when the server asks for one (etcd --client-cert-auth).
  std::string cert_file{};
  std::string key_file{};
  // Accept any server certificate. Only for development and tests.
  bool insecure_skip_verify = false;
};

// InvalidArgument for a file that cannot be read or does not hold what it
// should, or a key that does not match the certificate; Internal when the
// system store cannot be loaded.
Result<std::unique_ptr<boost::asio::ssl::context>> NewClientTlsContext(
    const ClientTlsOptions& options);

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

}  // namespace aether
