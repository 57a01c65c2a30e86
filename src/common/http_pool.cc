#include "common/http_pool.h"

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

namespace aether {

namespace asio = boost::asio;
namespace http = boost::beast::http;

struct HttpConnectionPool::Conn {
  asio::io_context ioc;
  asio::ip::tcp::socket socket{ioc};
  boost::beast::flat_buffer buffer;
};

namespace {

struct Target {
  std::string host;
  std::string port;
  std::string path;
};

Result<Target> ParseHttpUrl(std::string_view url) {
  auto u = boost::urls::parse_uri(url);
  if (!u || u->scheme() != "http" || u->host().empty()) {
    return InvalidArgument("not an http:// URL: " + std::string(url));
  }
  Target t;
  t.host = std::string(u->host());
  t.port = u->has_port() ? std::string(u->port()) : "80";
  t.path = std::string(u->encoded_path());
  if (t.path.empty()) t.path = "/";
  if (u->has_query()) t.path += "?" + std::string(u->encoded_query());
  return t;
}


}  // namespace

HttpConnectionPool::HttpConnectionPool(size_t max_idle_per_host) : max_idle_(max_idle_per_host) {}
HttpConnectionPool::~HttpConnectionPool() = default;

std::unique_ptr<HttpConnectionPool::Conn> HttpConnectionPool::Take(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = idle_.find(key);
  if (it == idle_.end() || it->second.empty()) return nullptr;
  std::unique_ptr<Conn> c = std::move(it->second.back());
  it->second.pop_back();
  return c;
}

void HttpConnectionPool::Give(const std::string& key, std::unique_ptr<Conn> conn) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& v = idle_[key];
  if (v.size() < max_idle_) v.push_back(std::move(conn));
}

Result<HttpResponse> HttpConnectionPool::Fetch(std::string_view method, std::string_view url,
                                               std::string_view body,
                                               std::chrono::milliseconds timeout) {
  if (!url.starts_with("http://")) return HttpFetch(method, url, body, {}, timeout);
  ASSIGN_OR_RETURN(Target t, ParseHttpUrl(url));
  std::string key = t.host + ":" + t.port;

  http::request<http::string_body> req{http::string_to_verb(method), t.path, 11};
  req.set(http::field::host, key);
  req.set(http::field::content_type, "application/json");
  req.keep_alive(true);
  req.body() = std::string(body);
  req.prepare_payload();

  for (int attempt = 0; attempt < 2; ++attempt) {
    std::unique_ptr<Conn> conn = Take(key);
    bool reused = conn != nullptr;
    if (!conn) {
      ASSIGN_OR_RETURN(int fd, ConnectWithTimeout(t.host, t.port, timeout));
      conn = std::make_unique<Conn>();
      boost::system::error_code ec;
      conn->socket.assign(asio::ip::tcp::v4(), fd, ec);
      if (ec) {
        close(fd);
        return Internal("cannot use the connection to " + key);
      }
    }
    SetSocketTimeouts(conn->socket.native_handle(), timeout);
    boost::system::error_code ec;
    http::write(conn->socket, req, ec);
    http::response_parser<http::string_body> parser;
    parser.body_limit(64ull << 20);
    if (!ec) http::read(conn->socket, conn->buffer, parser, ec);
    if (ec) {
      // A reused connection the server closed meanwhile: nothing was
      // processed, so one retry on a fresh connection is safe.
      bool stale = reused && (ec == http::error::end_of_stream || ec == asio::error::eof ||
                              ec == asio::error::connection_reset ||
                              ec == asio::error::broken_pipe);
      if (stale) continue;
      if (ec == asio::error::would_block || ec == asio::error::timed_out) {
        return DeadlineExceeded("no answer from " + key + " within the timeout");
      }
      return Unavailable("request to " + key + " failed: " + ec.message());
    }
    auto& res = parser.get();
    HttpResponse out;
    out.status = static_cast<int>(res.result_int());
    out.content_type = std::string(res[http::field::content_type]);
    out.body = std::move(res.body());
    if (res.keep_alive()) Give(key, std::move(conn));
    return out;
  }
  return Unavailable("cannot connect to " + key + ": the connection was closed twice");
}

}  // namespace aether
