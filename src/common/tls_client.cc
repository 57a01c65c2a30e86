#include "common/tls_client.h"

namespace aether {

namespace ssl = boost::asio::ssl;

Result<std::unique_ptr<ssl::context>> NewClientTlsContext(const ClientTlsOptions& options) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
  boost::system::error_code ec;
  if (!options.ca_file.empty()) {
    ctx->load_verify_file(options.ca_file, ec);
    if (ec) return InvalidArgument("cannot load CA file " + options.ca_file + ": " + ec.message());
  } else if (!options.insecure_skip_verify) {
    ctx->set_default_verify_paths(ec);
    if (ec) return Internal("cannot load the system CA store: " + ec.message());
  }
  if (options.cert_file.empty() != options.key_file.empty()) {
    return InvalidArgument("a client certificate and its key go together (cert_file, key_file)");
  }
  if (!options.cert_file.empty()) {
    ctx->use_certificate_chain_file(options.cert_file, ec);
    if (ec) {
      return InvalidArgument("cannot load client certificate " + options.cert_file + ": " +
                             ec.message());
    }
    ctx->use_private_key_file(options.key_file, ssl::context::pem, ec);
    if (ec) {
      return InvalidArgument("cannot load client key " + options.key_file + ": " + ec.message());
    }
    if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
      return InvalidArgument("client key " + options.key_file + " does not match certificate " +
                             options.cert_file);
    }
  }
  return ctx;
}

std::string DescribeTlsFailure(const boost::system::error_code& ec, SSL* ssl) {
  std::string detail = ec.message();
  long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK)
    detail += " (" + std::string(X509_verify_cert_error_string(verify)) + ")";
  return detail;
}

}  // namespace aether
