#include "common/http_client.h"

#include <boost/asio.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>

#include <optional>
#include <vector>

#include "common/json_util.h"

namespace aether {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

// Errors come back as values (no exceptions through the coroutines).
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

struct Exchange {
  std::string method;
  std::string url;  // for messages
  bool https = false;
  std::string host;       // for DNS, SNI and verification
  std::string port;
  std::string authority;  // Host header
  std::string target;
  std::string_view body;
  const HttpHeaders* headers = nullptr;
  const HttpFetchOptions* options = nullptr;
  std::optional<Result<HttpResponse>> result;

  std::string Where() const {
    return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + port;
  }
};

bool HasHeader(const HttpHeaders& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (beast::iequals(k, name)) return true;
  }
  return false;
}

http::request<http::string_body> BuildRequest(const Exchange& ex) {
  http::request<http::string_body> req;
  req.version(11);
  http::verb verb = http::string_to_verb(ex.method);
  if (verb == http::verb::unknown) {
    req.method_string(ex.method);
  } else {
    req.method(verb);
  }
  req.target(ex.target);
  for (const auto& [k, v] : *ex.headers) req.insert(k, v);
  if (!HasHeader(*ex.headers, "Host")) req.set(http::field::host, ex.authority);
  if (!HasHeader(*ex.headers, "User-Agent")) req.set(http::field::user_agent, "aether");
  if (!HasHeader(*ex.headers, "Connection")) req.set(http::field::connection, "close");
  if (!ex.body.empty() && !HasHeader(*ex.headers, "Content-Type")) {
    req.set(http::field::content_type, "application/json");
  }
  req.body().assign(ex.body.data(), ex.body.size());
  req.prepare_payload();
  return req;
}

template <typename Stream>
asio::awaitable<void> WriteAndRead(Stream& stream, Exchange& ex) {
  http::request<http::string_body> req = BuildRequest(ex);
  auto [write_ec, written] = co_await http::async_write(stream, req, kUseTuple);

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(ex.options->max_response_bytes);
  if (ex.method == "HEAD") parser.skip(true);
  // Even when the write failed the server may have answered first (a 413
  // for a body it would not take), so always try to read.
  auto [read_ec, read] = co_await http::async_read(stream, buffer, parser, kUseTuple);
  if (read_ec == http::error::body_limit) {
    ex.result = ResourceExhausted("response from " + ex.url + " exceeds " +
                                  std::to_string(ex.options->max_response_bytes) + " bytes");
    co_return;
  }
  if (read_ec) {
    const beast::error_code& ec = write_ec ? write_ec : read_ec;
    ex.result = Unavailable("HTTP " + ex.method + " " + ex.url + " failed: " +
                            (write_ec ? "sending the request: " : "reading the response: ") +
                            ec.message());
    co_return;
  }
  http::response<http::string_body> msg = parser.release();
  HttpResponse out;
  out.status = static_cast<int>(msg.result_int());
  auto ct = msg.find(http::field::content_type);
  out.content_type = ct == msg.end() ? std::string() : std::string(ct->value());
  for (const auto& field : msg) {
    out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  out.body = std::move(msg.body());
  ex.result = std::move(out);
}

asio::awaitable<void> Run(Exchange& ex, ssl::context* tls) {
  auto executor = co_await asio::this_coro::executor;
  tcp::resolver resolver(executor);
  auto [resolve_ec, endpoints] = co_await resolver.async_resolve(ex.host, ex.port, kUseTuple);
  if (resolve_ec) {
    ex.result = Unavailable("cannot resolve " + ex.host + ": " + resolve_ec.message());
    co_return;
  }
  std::vector<tcp::endpoint> accepted;
  Status refused;
  for (const auto& entry : endpoints) {
    tcp::endpoint e = entry.endpoint();
    if (ex.options->check_address) {
      std::optional<IpAddress> address = FromSockaddr(e.data());
      Status st = address ? ex.options->check_address(*address)
                          : PermissionDenied("unsupported address family for " + ex.Where());
      if (!st.ok()) {
        if (refused.ok()) refused = std::move(st);
        continue;
      }
    }
    accepted.push_back(e);
  }
  if (accepted.empty()) {
    ex.result = refused.ok() ? Unavailable("cannot resolve " + ex.host + ": no address") : refused;
    co_return;
  }
  tcp::socket socket(executor);
  auto [connect_ec, endpoint] = co_await asio::async_connect(socket, accepted, kUseTuple);
  if (connect_ec) {
    ex.result = Unavailable("cannot connect to " + ex.Where() + ": " + connect_ec.message());
    co_return;
  }
  beast::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  if (!ex.https) {
    co_await WriteAndRead(socket, ex);
    co_return;
  }

  ssl::stream<tcp::socket> stream(std::move(socket), *tls);
  beast::error_code ec;
  asio::ip::make_address(ex.host, ec);
  bool is_ip = !ec;
  // SNI is for names only (RFC 6066).
  if (!is_ip && !SSL_set_tlsext_host_name(stream.native_handle(), ex.host.c_str())) {
    ex.result = Internal("cannot set TLS server name " + ex.host);
    co_return;
  }
  if (!ex.options->insecure_skip_verify) {
    stream.set_verify_mode(ssl::verify_peer);
    stream.set_verify_callback(ssl::host_name_verification(ex.host));
  }
  auto [handshake_ec] = co_await stream.async_handshake(ssl::stream_base::client, kUseTuple);
  if (handshake_ec) {
    std::string detail = handshake_ec.message();
    long verify = SSL_get_verify_result(stream.native_handle());
    if (verify != X509_V_OK) detail += " (" + std::string(X509_verify_cert_error_string(verify)) + ")";
    ex.result = Unavailable("TLS handshake with " + ex.Where() + " failed: " + detail);
    co_return;
  }
  co_await WriteAndRead(stream, ex);
  // No TLS close_notify exchange: the server closes (Connection: close) and
  // the whole response has been read already.
}

}  // namespace

Result<HttpResponse> HttpFetch(std::string_view method, std::string_view url,
                               std::string_view body, const HttpHeaders& headers,
                               std::chrono::milliseconds timeout,
                               const HttpFetchOptions& options) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) {
    return InvalidArgument("invalid URL \"" + std::string(url) + "\": " +
                           parsed.error().message());
  }
  // Boost.URL 1.81 reads "http://1.2.3.4.example.com/" as host 1.2.3.4
  // with path ".example.com/" (boostorg/url#770): refuse rather than send
  // the request to another host than the one the URL names.
  if (std::string_view path = parsed->encoded_path(); !path.empty() && !path.starts_with('/')) {
    return InvalidArgument("cannot tell the host of the URL \"" + std::string(url) +
                           "\" (a host made of an IPv4 address and more labels is not supported)");
  }
  Exchange ex;
  ex.method = std::string(method);
  ex.url = std::string(url);
  std::string scheme = std::string(parsed->scheme());
  if (scheme == "https") {
    ex.https = true;
  } else if (scheme != "http") {
    return InvalidArgument("unsupported URL scheme \"" + scheme + "\" in " + ex.url +
                           " (use http or https)");
  }
  if (parsed->host_type() == boost::urls::host_type::ipv6) {
    ex.host = parsed->host_address();
  } else {
    ex.host = parsed->host();
  }
  if (ex.host.empty()) return InvalidArgument("URL has no host: " + ex.url);
  // A decoded %00 would cut the name the resolver sees short.
  if (ex.host.find('\0') != std::string::npos) return InvalidArgument("NUL in the host of " + ex.url);
  ex.port = parsed->has_port() ? std::string(parsed->port()) : (ex.https ? "443" : "80");
  ex.authority = std::string(parsed->encoded_host_and_port());
  ex.target = std::string(parsed->encoded_path());
  if (ex.target.empty()) ex.target = "/";
  if (parsed->has_query()) ex.target += "?" + std::string(parsed->encoded_query());
  ex.body = body;
  ex.headers = &headers;
  ex.options = &options;

  // Declared before the io_context: when the deadline cuts the exchange
  // off, destroying the io_context destroys the coroutine, which still
  // refers to these.
  std::optional<ssl::context> tls;
  if (ex.https) {
    tls.emplace(ssl::context::tls_client);
    beast::error_code ec;
    if (!options.ca_file.empty()) {
      tls->load_verify_file(options.ca_file, ec);
      if (ec) return InvalidArgument("cannot load CA file " + options.ca_file + ": " + ec.message());
    } else if (!options.insecure_skip_verify) {
      tls->set_default_verify_paths(ec);
      if (ec) return Internal("cannot load the system CA store: " + ec.message());
    }
  }
  std::exception_ptr failure;
  {
    asio::io_context ioc(1);
    asio::co_spawn(ioc, Run(ex, tls ? &*tls : nullptr),
                   [&failure](std::exception_ptr e) { failure = e; });
    ioc.run_for(timeout);
  }
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      return Internal("HTTP " + ex.method + " " + ex.url + " failed: " + e.what());
    }
  }
  if (!ex.result) {
    return DeadlineExceeded("HTTP " + ex.method + " " + ex.url + " timed out after " +
                            std::to_string(timeout.count()) + " ms");
  }
  return std::move(*ex.result);
}

std::string UrlEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string DescribeHttpError(const HttpResponse& r) {
  std::string msg = "HTTP " + std::to_string(r.status);
  if (Result<boost::json::object> body = ParseJsonObject(r.body); body.ok()) {
    if (Result<std::string> e = GetString(*body, "error", ""); e.ok() && !e->empty()) {
      msg += ": " + *e;
    }
  }
  return msg;
}

}  // namespace aether
