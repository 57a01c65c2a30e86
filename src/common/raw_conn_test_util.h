// A plain TCP connection to 127.0.0.1 for tests of the HTTP server: reads
// are bounded by poll(), so a server bug fails the test instead of hanging
// it, and tests can send bytes (or withhold them) as no client library would.
// Used by the server's unit tests, by the integration tests that attack
// the real binaries, and (reading raw bytes) by tests/chaos's proxy tests.
// Not thread-safe: one thread per RawConn.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace aether::testing {

class RawConn {
 public:
  using Response = boost::beast::http::response<boost::beast::http::string_body>;

  explicit RawConn(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawConn() { ::close(fd_); }
  RawConn(const RawConn&) = delete;
  RawConn& operator=(const RawConn&) = delete;
  bool connected() const { return connected_; }

  // False once the peer has closed (EPIPE, ECONNRESET).
  bool Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // The next response, or nullopt on EOF, error or timeout.
  // `head`: the response to a HEAD request (no body follows its header).
  std::optional<Response> Read(std::chrono::milliseconds timeout = std::chrono::seconds(3),
                               bool head = false) {
    boost::beast::http::response_parser<boost::beast::http::string_body> parser;
    parser.eager(true);
    parser.skip(head);
    parser.body_limit(64 << 20);
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      if (!buf_.empty()) {
        boost::beast::error_code ec;
        size_t used = parser.put(boost::asio::buffer(buf_), ec);
        buf_.erase(0, used);
        if (ec && ec != boost::beast::http::error::need_more) return std::nullopt;
        if (parser.is_done()) return parser.release();
        if (used > 0 && !buf_.empty()) continue;
      }
      if (!Fill(deadline)) return std::nullopt;
    }
  }

  // Up to `n` bytes as they come, not HTTP: as many as arrive before the
  // timeout, fewer when the peer closes first.
  std::string ReadBytes(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(3)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (buf_.size() < n && Fill(deadline)) {
    }
    std::string out = buf_.substr(0, n);
    buf_.erase(0, out.size());
    return out;
  }

  // Half-closes: the peer reads the end of the stream, this side still reads.
  void ShutdownWrite() { ::shutdown(fd_, SHUT_WR); }

  // True when the server closes the connection within the timeout.
  bool WaitForClose(std::chrono::milliseconds timeout = std::chrono::seconds(3)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (Fill(deadline)) buf_.clear();
    return eof_;
  }

  // Without waiting: true while the server has neither answered nor
  // closed (nothing to read, no EOF, no reset).
  bool Silent() {
    if (eof_ || !buf_.empty()) return false;
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, 0) == 0;
  }

 private:
  bool Fill(std::chrono::steady_clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char tmp[65536];
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  bool eof_ = false;
  std::string buf_;
};

// "GET target HTTP/1.1" with Host and `extra` header lines ("K: v\r\n").
inline std::string RawGet(std::string_view target, std::string_view extra = "") {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: t\r\n" + std::string(extra) + "\r\n";
}

}  // namespace aether::testing
