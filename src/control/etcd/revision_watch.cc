#include "control/etcd/revision_watch.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>

#include "common/log.h"
#include "control/etcd/etcd_codec.h"

namespace aether::control::etcd {
namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;
using std::chrono::milliseconds;

RevisionWatch::RevisionWatch(RevisionWatchOptions options)
    : options_(std::move(options)), thread_([this] { Run(); }) {}

RevisionWatch::~RevisionWatch() { Stop(); }

void RevisionWatch::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    // Wakes the blocking read of the stream; the thread closes the socket.
    if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void RevisionWatch::Sleep(milliseconds d) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, d, [&] { return stopping_; });
}

void RevisionWatch::Run() {
  milliseconds backoff(100);
  size_t endpoint = 0;
  int64_t from = options_.start_revision > 0 ? options_.start_revision + 1 : 0;
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    if (from == 0) {
      Result<int64_t> now = options_.revision();
      if (now.ok()) {
        options_.publish(*now);
        from = *now + 1;
      }
    }
    if (from != 0) {
      auto started = std::chrono::steady_clock::now();
      from = Stream(options_.endpoints[endpoint], from);
      // A stream that lasted is not a failure: reconnect at once.
      if (std::chrono::steady_clock::now() - started > std::chrono::seconds(5)) {
        backoff = milliseconds(100);
      }
    }
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    endpoint = (endpoint + 1) % options_.endpoints.size();
    Sleep(backoff);
    backoff = std::min(backoff * 2, milliseconds(2000));
    // Waiters learn of writes while there is no stream.
    if (Result<int64_t> now = options_.revision(); now.ok()) options_.publish(*now);
  }
}

int64_t RevisionWatch::Stream(const std::string& endpoint, int64_t from) {
  auto url = boost::urls::parse_uri(endpoint);
  if (!url) return from;
  std::string host(url->host());
  std::string port = url->has_port() ? std::string(url->port()) : "80";
  asio::io_context io;
  tcp::socket socket(io);
  boost::system::error_code ec;
  tcp::resolver resolver(io);
  auto addresses = resolver.resolve(host, port, ec);
  if (!ec) asio::connect(socket, addresses, ec);
  if (ec) {
    LOG_DEBUG("etcd watch: cannot connect to {}: {}", endpoint, ec.message());
    return from;
  }
  {
    std::lock_guard lock(mu_);
    if (stopping_) return from;
    fd_ = socket.native_handle();
  }
  struct Forget {
    RevisionWatch* w;
    ~Forget() {
      std::lock_guard lock(w->mu_);
      w->fd_ = -1;
    }
  } forget{this};
  // A member that vanished without a reset (a cut network) is noticed
  // within ~11 s instead of never: the stream is otherwise silent.
  int on = 1, idle = 5, interval = 2, count = 3;
  ::setsockopt(fd_, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
  ::setsockopt(fd_, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
  ::setsockopt(fd_, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
  ::setsockopt(fd_, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);

  if (url->scheme() != "https") return Exchange(socket, endpoint, host + ":" + port, from);
  if (!tls_) {
    Result<std::unique_ptr<asio::ssl::context>> ctx = NewClientTlsContext(options_.tls);
    if (!ctx.ok()) {
      LOG_WARN("etcd watch: {}", ctx.status().message());
      return from;
    }
    tls_ = std::move(*ctx);
  }
  asio::ssl::stream<tcp::socket> tls(std::move(socket), *tls_);
  if (Status s = SetUpClientTls(tls, host, false); !s.ok()) {
    LOG_WARN("etcd watch: {}", s.message());
    return from;
  }
  tls.handshake(asio::ssl::stream_base::client, ec);
  if (ec) {
    LOG_WARN("etcd watch: TLS handshake with {} failed: {}", endpoint,
             DescribeTlsFailure(ec, tls.native_handle()));
    return from;
  }
  return Exchange(tls, endpoint, host + ":" + port, from);
}

template <typename SyncStream>
int64_t RevisionWatch::Exchange(SyncStream& stream, const std::string& endpoint,
                                const std::string& authority, int64_t from) {
  boost::system::error_code ec;
  http::request<http::string_body> req{http::verb::post, "/v3/watch", 11};
  req.set(http::field::host, authority);
  req.set(http::field::content_type, "application/json");
  if (std::string token = options_.token(); !token.empty()) {
    req.set(http::field::authorization, token);
  }
  req.body() = EncodeWatch(options_.prefix, from);
  req.prepare_payload();
  http::write(stream, req, ec);
  boost::beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);
  if (!ec) http::read_header(stream, buffer, parser, ec);
  if (ec) {
    LOG_DEBUG("etcd watch: {}: {}", endpoint, ec.message());
    return from;
  }
  if (parser.get().result_int() != 200) {
    LOG_WARN("etcd watch: {} answered HTTP {}", endpoint, parser.get().result_int());
    return from;
  }
  ++streams_;
  const int64_t requested = from;
  std::string pending;
  char chunk[16384];
  while (!parser.is_done()) {
    parser.get().body().data = chunk;
    parser.get().body().size = sizeof chunk;
    http::read_some(stream, buffer, parser, ec);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) break;
    pending.append(chunk, sizeof chunk - parser.get().body().size);
    for (size_t nl; (nl = pending.find('\n')) != std::string::npos; pending.erase(0, nl + 1)) {
      std::string_view line(pending.data(), nl);
      if (line.find_first_not_of(" \r\t") == std::string_view::npos) continue;
      Result<WatchMessage> m = DecodeWatchMessage(line);
      if (!m.ok()) {
        LOG_WARN("etcd watch: {}", m.status().message());
        return from;
      }
      if (m->revision > 0) {
        options_.publish(m->revision);
        from = std::max(from, m->revision + 1);
      }
      if (m->compact_revision > 0) {
        LOG_INFO(
            "etcd watch: revision {} was compacted (up to {}); starting again from the current "
            "revision",
            requested, m->compact_revision);
        return 0;
      }
      if (m->canceled) {
        LOG_WARN("etcd watch: {} ended the watch: {}", endpoint, m->error);
        return from;
      }
    }
    if (pending.size() > options_.max_message_bytes) {
      LOG_WARN("etcd watch: {} sent a message over {} bytes; opening the stream again", endpoint,
               options_.max_message_bytes);
      return from;
    }
  }
  return from;
}

}  // namespace aether::control::etcd
