#include "common/http_client.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/http/span_body.hpp>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include "common/internal/client_shared.h"
#include "common/internal/client_socket.h"
#include "common/json_util.h"

namespace aether {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using http_internal::Cancellation;
using http_internal::Deadline;
using http_internal::SocketStream;
using http_internal::Url;
using Clock = std::chrono::steady_clock;
// The body is the caller's bytes, not a copy (dataplane batches are 1 MiB).
using Request = http::request<http::span_body<const char>>;

bool HasHeader(const HttpHeaders& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (beast::iequals(k, name)) return true;
  }
  return false;
}

Request BuildRequest(const HttpClientRequest& req, const Url& url, bool keep) {
  Request msg;
  msg.version(11);
  http::verb verb = http::string_to_verb(req.method);
  if (verb == http::verb::unknown) {
    msg.method_string(req.method);
  } else {
    msg.method(verb);
  }
  msg.target(url.target);
  for (const auto& [k, v] : req.headers) msg.insert(k, v);
  if (!HasHeader(req.headers, "Host")) msg.set(http::field::host, url.authority);
  if (!HasHeader(req.headers, "User-Agent")) msg.set(http::field::user_agent, "aether");
  if (!keep && !HasHeader(req.headers, "Connection")) msg.set(http::field::connection, "close");
  if (!req.body.empty() && !HasHeader(req.headers, "Content-Type")) {
    msg.set(http::field::content_type, "application/json");
  }
  msg.body() = {req.body.data(), req.body.size()};
  msg.prepare_payload();
  return msg;
}

// One connection; kept between requests when the client keeps them.
struct Connection {
  std::optional<SocketStream> plain;             // http://
  std::optional<ssl::stream<SocketStream>> tls;  // https://
  bool handshaken = false;
  beast::flat_buffer buffer;

  SocketStream& socket() { return tls ? tls->next_layer() : *plain; }
};

// What one attempt of a request came to.
struct Exchange {
  beast::error_code write_ec;
  beast::error_code read_ec;
  bool got_some = false;  // any byte of the answer
  bool keep_alive = false;
  HttpResponse response;
};

template <typename Stream>
void Run(Stream& stream, beast::flat_buffer& buffer, Request& msg, bool head, uint64_t limit,
         Exchange& ex) {
  http::write(stream, msg, ex.write_ec);
  http::response_parser<http::string_body> parser;
  parser.body_limit(limit);
  if (head) parser.skip(true);
  // Even when the write failed the server may have answered first (a 413
  // for a body it would not take), so always try to read.
  http::read(stream, buffer, parser, ex.read_ec);
  ex.got_some = parser.got_some();
  if (ex.read_ec) return;
  http::response<http::string_body> res = parser.release();
  ex.keep_alive = res.keep_alive();
  ex.response.status = static_cast<int>(res.result_int());
  auto ct = res.find(http::field::content_type);
  ex.response.content_type = ct == res.end() ? std::string() : std::string(ct->value());
  for (const auto& field : res) {
    ex.response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  ex.response.body = std::move(res.body());
}

class NetHttpClient final : public HttpClient {
 public:
  explicit NetHttpClient(HttpClientOptions options) : options_(std::move(options)) {}

  Result<HttpResponse> Send(const HttpClientRequest& req) override;

 private:
  Result<std::unique_ptr<Connection>> Connect(const Url& url, const HttpClientRequest& req,
                                              Deadline deadline, Cancellation& cancel);
  Status Handshake(Connection& conn, const Url& url);
  Result<ssl::context*> TlsContext();
  std::unique_ptr<Connection> TakeIdle(const std::string& key);
  void Keep(const std::string& key, std::unique_ptr<Connection> conn);
  void DropIdle(const std::string& key);  // closed outside the lock

  const HttpClientOptions options_;
  asio::io_context ioc_;  // never run: the context of the sockets
  std::mutex tls_mu_;
  std::unique_ptr<ssl::context> tls_;  // made at the first https request
  std::mutex idle_mu_;
  // After ioc_: closed before it goes.
  std::map<std::string, std::vector<std::unique_ptr<Connection>>, std::less<>> idle_;
};

Result<HttpResponse> NetHttpClient::Send(const HttpClientRequest& req) {
  ASSIGN_OR_RETURN(Url url, http_internal::ParseUrl(req.url));
  const Deadline deadline = Clock::now() + req.timeout;
  Cancellation cancel(req.cancel);
  auto cancelled = [&req] {
    return Unavailable("HTTP " + req.method + " " + req.url + " cancelled");
  };
  auto timed_out = [&req] {
    return DeadlineExceeded("HTTP " + req.method + " " + req.url + " timed out after " +
                            std::to_string(req.timeout.count()) + " ms");
  };
  if (cancel.requested()) return cancelled();
  // A request that checks addresses connects on its own: a kept connection
  // went to an address nobody checked for it.
  const bool keep = options_.max_idle_per_host > 0 && !req.check_address;
  Request msg = BuildRequest(req, url, keep);
  const bool head = req.method == "HEAD";

  for (int attempt = 0;; ++attempt) {
    // A retry connects anew: kept connections older than the stale one are
    // stale too, and are dropped.
    std::unique_ptr<Connection> conn = keep && attempt == 0 ? TakeIdle(url.key) : nullptr;
    const bool reused = conn != nullptr;
    if (!conn) {
      Result<std::unique_ptr<Connection>> c = Connect(url, req, deadline, cancel);
      if (cancel.requested()) return cancelled();
      if (!c.ok()) return c.status();
      conn = std::move(*c);
    }
    SocketStream& socket = conn->socket();
    socket.set_deadline(deadline);
    if (!cancel.Attach(socket.native_handle())) return cancelled();
    Status handshake = conn->handshaken ? OkStatus() : Handshake(*conn, url);
    Exchange ex;
    if (handshake.ok()) {
      if (conn->tls) {
        Run(*conn->tls, conn->buffer, msg, head, options_.max_response_bytes, ex);
      } else {
        Run(*conn->plain, conn->buffer, msg, head, options_.max_response_bytes, ex);
      }
    }
    cancel.Detach();
    // A stop request shut the socket down: whatever came of it, the
    // connection is gone and the caller asked for nothing more.
    if (cancel.requested()) return cancelled();
    if (!handshake.ok()) return handshake;
    if (ex.read_ec == http::error::body_limit) {
      return ResourceExhausted("response from " + req.url + " exceeds " +
                               std::to_string(options_.max_response_bytes) + " bytes");
    }
    if (ex.read_ec) {
      if (reused && !ex.got_some &&
          (http_internal::ConnectionClosed(ex.write_ec) ||
           http_internal::ConnectionClosed(ex.read_ec)) &&
          Clock::now() < deadline) {
        DropIdle(url.key);
        continue;  // the server closed it while idle and never saw this request
      }
      if (ex.write_ec == asio::error::timed_out || ex.read_ec == asio::error::timed_out) {
        return timed_out();
      }
      const beast::error_code& ec = ex.write_ec ? ex.write_ec : ex.read_ec;
      // An HTTPS server drops a plain HTTP request unanswered: "end of
      // stream" alone would not tell the user what to change.
      std::string hint;
      if (!url.https && !ex.got_some && http_internal::ConnectionClosed(ec)) {
        hint =
            " (the server closed the connection without an answer; if it serves HTTPS, use "
            "an https:// URL)";
      }
      return Unavailable("HTTP " + req.method + " " + req.url + " failed: " +
                         (ex.write_ec ? "sending the request: " : "reading the response: ") +
                         ec.message() + hint);
    }
    if (keep && ex.keep_alive) Keep(url.key, std::move(conn));
    return std::move(ex.response);
  }
}

Result<std::unique_ptr<Connection>> NetHttpClient::Connect(const Url& url,
                                                           const HttpClientRequest& req,
                                                           Deadline deadline,
                                                           Cancellation& cancel) {
  ssl::context* tls = nullptr;
  if (url.https) {
    ASSIGN_OR_RETURN(tls, TlsContext());
  }
  ASSIGN_OR_RETURN(
      asio::ip::tcp::socket socket,
      http_internal::Connect(ioc_, url.host, url.port, deadline, cancel, req.check_address));
  auto conn = std::make_unique<Connection>();
  if (tls == nullptr) {
    conn->plain.emplace(std::move(socket));
    conn->handshaken = true;
  } else {
    conn->tls.emplace(SocketStream(std::move(socket)), *tls);
  }
  return conn;
}

Status NetHttpClient::Handshake(Connection& conn, const Url& url) {
  ssl::stream<SocketStream>& stream = *conn.tls;
  RETURN_IF_ERROR(SetUpClientTls(stream, url.host, options_.insecure_skip_verify));
  beast::error_code ec;
  stream.handshake(ssl::stream_base::client, ec);
  if (ec == asio::error::timed_out) {
    return DeadlineExceeded("TLS handshake with " + url.Where() + " timed out");
  }
  if (ec) {
    return Unavailable("TLS handshake with " + url.Where() +
                       " failed: " + DescribeTlsFailure(ec, stream.native_handle()));
  }
  conn.handshaken = true;
  return OkStatus();
}

Result<ssl::context*> NetHttpClient::TlsContext() {
  std::lock_guard lock(tls_mu_);
  if (tls_) return tls_.get();
  ASSIGN_OR_RETURN(tls_,
                   NewClientTlsContext({.ca_file = options_.ca_file,
                                        .cert_file = options_.cert_file,
                                        .key_file = options_.key_file,
                                        .insecure_skip_verify = options_.insecure_skip_verify}));
  return tls_.get();
}

std::unique_ptr<Connection> NetHttpClient::TakeIdle(const std::string& key) {
  std::lock_guard lock(idle_mu_);
  auto it = idle_.find(key);
  if (it == idle_.end() || it->second.empty()) return nullptr;
  std::unique_ptr<Connection> conn = std::move(it->second.back());
  it->second.pop_back();
  return conn;
}

void NetHttpClient::DropIdle(const std::string& key) {
  std::vector<std::unique_ptr<Connection>> stale;
  {
    std::lock_guard lock(idle_mu_);
    auto it = idle_.find(key);
    if (it != idle_.end()) stale.swap(it->second);
  }
}

void NetHttpClient::Keep(const std::string& key, std::unique_ptr<Connection> conn) {
  std::lock_guard lock(idle_mu_);
  auto& idle = idle_[key];
  if (idle.size() < options_.max_idle_per_host) idle.push_back(std::move(conn));
}

}  // namespace

Result<HttpResponse> HttpClient::Fetch(std::string_view method, std::string_view url,
                                       std::string_view body, HttpHeaders headers,
                                       std::chrono::milliseconds timeout) {
  HttpClientRequest req;
  req.method = std::string(method);
  req.url = std::string(url);
  req.body = body;
  req.headers = std::move(headers);
  req.timeout = timeout;
  return Send(req);
}

std::unique_ptr<HttpClient> NewHttpClient(HttpClientOptions options) {
  return std::make_unique<NetHttpClient>(std::move(options));
}

bool NothingWasSent(const Status& send_error) {
  const std::string& m = send_error.message();
  return send_error.code() == Code::kUnavailable &&
         (m.starts_with("cannot connect to ") || m.starts_with("cannot resolve "));
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
