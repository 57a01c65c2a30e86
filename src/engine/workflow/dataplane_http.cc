#include "engine/workflow/dataplane_http.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
#include <cerrno>
#include <cstring>

#include "common/http_client.h"
#include "common/tcp_connect.h"

namespace aether::engine::workflow {

namespace asio = boost::asio;
namespace http = boost::beast::http;

struct PeerConnection::Conn {
  asio::io_context ioc;
  asio::ip::tcp::socket socket{ioc};
  boost::beast::flat_buffer buffer;
};

PeerConnection::PeerConnection(std::string base_url) : base_url_(std::move(base_url)) {
  auto u = boost::urls::parse_uri(base_url_);
  if (u && u->scheme() == "http" && !u->host().empty()) {
    plain_ = true;
    host_ = std::string(u->host());
    port_ = u->has_port() ? std::string(u->port()) : "80";
  }
}

PeerConnection::~PeerConnection() = default;

void PeerConnection::Abort() {
  std::lock_guard lock(mu_);
  aborted_ = true;
  if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
}

Result<HttpResponse> PeerConnection::Post(std::string_view path, const HttpHeaders& headers,
                                          std::string body, std::string_view content_type,
                                          std::chrono::milliseconds timeout) {
  {
    std::lock_guard lock(mu_);
    if (aborted_) return Unavailable("the dataplane is stopping");
  }
  if (!plain_) {
    HttpHeaders h = headers;
    h.emplace_back("Content-Type", std::string(content_type));
    Result<HttpResponse> r = HttpFetch("POST", base_url_ + std::string(path), body, h, timeout);
    // HttpFetch says Unavailable also for a connection lost mid-response;
    // keep that (https peers are the rare case).
    return r;
  }
  const std::string key = host_ + ":" + port_;
  http::request<http::string_body> req{http::verb::post, std::string(path), 11};
  req.set(http::field::host, key);
  for (const auto& [k, v] : headers) req.set(k, v);
  req.set(http::field::content_type, content_type);
  req.keep_alive(true);
  req.body() = std::move(body);
  req.prepare_payload();

  auto drop = [this] {
    std::lock_guard lock(mu_);
    conn_.reset();  // closes the socket
    fd_ = -1;
  };
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool reused = conn_ != nullptr;
    if (!conn_) {
      ASSIGN_OR_RETURN(int fd, ConnectWithTimeout(host_, port_, timeout));
      auto c = std::make_unique<Conn>();
      boost::system::error_code ec;
      c->socket.assign(asio::ip::tcp::v4(), fd, ec);
      if (ec) {
        close(fd);
        return Unavailable("cannot use the connection to " + key);
      }
      std::lock_guard lock(mu_);
      if (aborted_) return Unavailable("the dataplane is stopping");  // c closes fd
      conn_ = std::move(c);
      fd_ = fd;
    }
    SetSocketTimeouts(conn_->socket.native_handle(), timeout);
    boost::system::error_code ec;
    http::write(conn_->socket, req, ec);
    bool written = !ec;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64ull << 20);
    if (!ec) http::read(conn_->socket, conn_->buffer, parser, ec);
    if (ec) {
      drop();
      // A reused connection the peer closed while idle: it never saw this
      // request, so one retry on a fresh connection is safe.
      bool stale = reused && (ec == http::error::end_of_stream || ec == asio::error::eof ||
                              ec == asio::error::connection_reset ||
                              ec == asio::error::broken_pipe) &&
                   !parser.got_some();
      {
        std::lock_guard lock(mu_);
        if (aborted_) return Unavailable("the dataplane is stopping");
      }
      if (stale) continue;
      if (ec == asio::error::would_block || ec == asio::error::timed_out) {
        return DeadlineExceeded("no answer from " + key + " within " +
                                std::to_string(timeout.count()) + " ms");
      }
      if (!written) return Unavailable("cannot send to " + key + ": " + ec.message());
      return Internal("the connection to " + key + " broke: " + ec.message());
    }
    auto& res = parser.get();
    HttpResponse out;
    out.status = static_cast<int>(res.result_int());
    out.content_type = std::string(res[http::field::content_type]);
    out.body = std::move(res.body());
    if (!res.keep_alive()) drop();
    return out;
  }
  return Unavailable("cannot connect to " + key + ": the connection was closed twice");
}

}  // namespace aether::engine::workflow
