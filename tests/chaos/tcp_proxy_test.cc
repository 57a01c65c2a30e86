// TcpProxy against a real TCP echo server on 127.0.0.1: each mode, the
// switches between them, Stop. Clients are plain blocking sockets with
// deadlines (poll), so what they see is what any TCP client would see.
#include "tcp_proxy.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio.hpp>
#include <cerrno>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/testing/eventually.h"

namespace aether::testing {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using std::chrono::milliseconds;
using std::chrono::seconds;
using SteadyClock = std::chrono::steady_clock;

// Echoes every byte back; closes its side when the client closes its own.
class EchoServer {
 public:
  EchoServer() : acceptor_(ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    Accept();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  // Only std::system_error from the join can escape: terminating is right.
  ~EchoServer() {  // NOLINT(bugprone-exception-escape)
    asio::post(ioc_, [this] {
      acceptor_.close();
      ioc_.stop();
    });
    thread_.join();
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  int accepted() const { return accepted_.load(); }
  int open() const { return open_.load(); }

 private:
  struct Conn : std::enable_shared_from_this<Conn> {
    Conn(tcp::socket s, std::atomic<int>& open) : socket(std::move(s)), open(open) {}
    ~Conn() { open.fetch_sub(1); }
    void Read() {
      socket.async_read_some(asio::buffer(buf),
                             [self = shared_from_this()](boost::system::error_code ec, size_t n) {
                               if (ec) {  // eof or reset: the connection ends here
                                 boost::system::error_code ignored;
                                 self->socket.shutdown(tcp::socket::shutdown_send, ignored);
                                 return;
                               }
                               asio::async_write(self->socket, asio::buffer(self->buf.data(), n),
                                                 [self](boost::system::error_code wec, size_t) {
                                                   if (!wec) self->Read();
                                                 });
                             });
    }
    tcp::socket socket;
    std::atomic<int>& open;
    std::array<char, size_t{16} << 10> buf{};
  };

  void Accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket s) {
      if (ec) return;
      accepted_.fetch_add(1);
      open_.fetch_add(1);
      std::make_shared<Conn>(std::move(s), open_)->Read();
      Accept();
    });
  }

  // Before ioc_: connections still held by its handlers count down when
  // it destroys them.
  std::atomic<int> accepted_{0}, open_{0};
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::thread thread_;
};

// A blocking TCP client with deadlines on every read.
class Client {
 public:
  explicit Client(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~Client() { ::close(fd_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }

  bool Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  void ShutdownWrite() { ::shutdown(fd_, SHUT_WR); }

  // Up to `n` bytes, as many as arrive before `timeout`; stops early at
  // the end of the stream (then closed() is true).
  std::string Read(size_t n, milliseconds timeout = seconds(10)) {
    std::string out;
    auto deadline = SteadyClock::now() + timeout;
    char buf[size_t{64} << 10];
    while (out.size() < n && !closed_) {
      if (!WaitReadable(deadline)) break;
      ssize_t got = ::recv(fd_, buf, std::min(sizeof buf, n - out.size()), 0);
      if (got <= 0) {
        closed_ = true;  // 0: the end; < 0: reset
        break;
      }
      out.append(buf, static_cast<size_t>(got));
    }
    return out;
  }

  // True once the peer closed (end of stream or reset) within `timeout`;
  // bytes that arrive first are skipped.
  bool WaitClosed(milliseconds timeout = seconds(10)) {
    auto deadline = SteadyClock::now() + timeout;
    while (!closed_ && SteadyClock::now() < deadline) Read(1 << 20, timeout);
    return closed_;
  }

 private:
  bool WaitReadable(SteadyClock::time_point deadline) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - SteadyClock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    return r > 0;
  }

  int fd_ = -1;
  bool connected_ = false;
  bool closed_ = false;
};

std::unique_ptr<TcpProxy> ProxyTo(const EchoServer& echo) {
  auto p = TcpProxy::Start("127.0.0.1", echo.port());
  EXPECT_TRUE(p.ok()) << p.status().message();
  return p.ok() ? std::move(p).value() : nullptr;
}

// Bytes that cannot be confused with a shifted copy of themselves.
std::string Pattern(size_t n, unsigned seed = 1) {
  std::string s(n, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (char& c : s) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

TEST(TcpProxyTest, PassForwardsBothWaysAndCounts) {
  EchoServer echo;
  auto proxy = ProxyTo(echo);
  ASSERT_NE(proxy, nullptr);
  Client c(proxy->port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.Send("hello"));
  EXPECT_EQ(c.Read(5), "hello");

  // Large enough for partial reads and writes on every hop.
  std::string big = Pattern(3 << 20);
  std::thread writer([&] { EXPECT_TRUE(c.Send(big)); });
  std::string back = c.Read(big.size());
  writer.join();
  EXPECT_TRUE(back == big) << "got " << back.size() << " of " << big.size() << " bytes";

  TcpProxy::Counts n = proxy->counts();
  EXPECT_EQ(n.accepted, 1u);
  EXPECT_EQ(n.open, 1u);
  EXPECT_TRUE(Eventually([&] {
    TcpProxy::Counts now = proxy->counts();
    return now.to_target == 5 + big.size() && now.to_client == 5 + big.size();
  }));
  EXPECT_EQ(proxy->counts().held, 0u);
  EXPECT_EQ(proxy->mode(), TcpProxy::Mode::kPass);
}

TEST(TcpProxyTest, StallHoldsBytesUntilResume) {
  EchoServer echo;
  auto proxy = ProxyTo(echo);
  ASSERT_NE(proxy, nullptr);
  Client c(proxy->port());
  ASSERT_TRUE(c.Send("before"));
  ASSERT_EQ(c.Read(6), "before");

  proxy->Stall();
  EXPECT_EQ(proxy->mode(), TcpProxy::Mode::kStall);
  ASSERT_TRUE(c.Send("during"));
  // The bytes reached the proxy and stay there: nothing comes back.
  ASSERT_TRUE(Eventually([&] { return proxy->counts().held == 6; }));
  EXPECT_EQ(c.Read(6, milliseconds(300)), "");
  EXPECT_FALSE(c.WaitClosed(milliseconds(1))) << "a stalled connection stays open";

  // A connection made during the stall is accepted and waits too: it
  // reaches the server only after Resume.
  Client late(proxy->port());
  ASSERT_TRUE(late.connected());
  ASSERT_TRUE(late.Send("late"));
  ASSERT_TRUE(Eventually([&] { return proxy->counts().held == 10; }));
  EXPECT_EQ(echo.accepted(), 1);

  proxy->Resume();
  EXPECT_EQ(c.Read(6), "during");
  EXPECT_EQ(late.Read(4), "late");
  EXPECT_EQ(echo.accepted(), 2);
  EXPECT_TRUE(Eventually([&] { return proxy->counts().held == 0; }));
  EXPECT_EQ(proxy->counts().to_target, 16u);
}

TEST(TcpProxyTest, ACloseDuringAStallFollowsTheHeldBytes) {
  EchoServer echo;
  auto proxy = ProxyTo(echo);
  ASSERT_NE(proxy, nullptr);
  Client c(proxy->port());
  ASSERT_TRUE(c.Send("x"));
  ASSERT_EQ(c.Read(1), "x");

  proxy->Stall();
  ASSERT_TRUE(c.Send("last words"));
  c.ShutdownWrite();
  ASSERT_TRUE(Eventually([&] { return proxy->counts().held == 10; }));
  EXPECT_EQ(echo.open(), 1) << "the server has not seen the close yet";

  proxy->Resume();
  // The server gets the bytes, then the end: it echoes them and closes.
  EXPECT_EQ(c.Read(10), "last words");
  EXPECT_TRUE(c.WaitClosed());
  EXPECT_TRUE(Eventually([&] { return echo.open() == 0 && proxy->counts().open == 0; }));
}

TEST(TcpProxyTest, DropClosesEveryConnectionAndRefusesNewOnes) {
  EchoServer echo;
  auto proxy = ProxyTo(echo);
  ASSERT_NE(proxy, nullptr);
  Client a(proxy->port()), b(proxy->port());
  ASSERT_TRUE(a.Send("a") && b.Send("b"));
  ASSERT_EQ(a.Read(1), "a");
  ASSERT_EQ(b.Read(1), "b");
  // Held bytes are lost with their connection.
  proxy->Stall();
  ASSERT_TRUE(b.Send("lost"));
  ASSERT_TRUE(Eventually([&] { return proxy->counts().held == 4; }));

  proxy->Drop();
  EXPECT_EQ(proxy->counts().open, 0u);
  EXPECT_EQ(proxy->counts().dropped, 2u);
  EXPECT_EQ(proxy->counts().held, 0u);
  EXPECT_TRUE(a.WaitClosed());
  EXPECT_TRUE(b.WaitClosed());
  // Both ends: the server's connections end too.
  EXPECT_TRUE(Eventually([&] { return echo.open() == 0; }));

  // A new connection is closed at once, before any byte crosses.
  Client c(proxy->port());
  c.Send("x");  // may fail: the proxy may have closed it already
  EXPECT_TRUE(c.WaitClosed());
  EXPECT_TRUE(Eventually([&] { return proxy->counts().refused >= 1; }));
  EXPECT_EQ(echo.accepted(), 2);
  EXPECT_EQ(proxy->counts().to_target, 2u);

  // Resume: new connections pass again.
  proxy->Resume();
  Client d(proxy->port());
  ASSERT_TRUE(d.Send("again"));
  EXPECT_EQ(d.Read(5), "again");
  EXPECT_EQ(echo.accepted(), 3);
}

TEST(TcpProxyTest, ConnectionsWaitForALateTarget) {
  EchoServer echo;
  auto started = TcpProxy::Start();  // no target yet
  ASSERT_TRUE(started.ok()) << started.status().message();
  std::unique_ptr<TcpProxy> proxy = std::move(started).value();
  Client c(proxy->port());
  ASSERT_TRUE(c.Send("early"));
  ASSERT_TRUE(Eventually([&] { return proxy->counts().held == 5; }));

  ASSERT_TRUE(proxy->SetTarget(echo.port()).ok());
  EXPECT_EQ(c.Read(5), "early");
  EXPECT_EQ(proxy->SetTarget(1, "localhost").code(), Code::kInvalidArgument);
  EXPECT_EQ(TcpProxy::Start("not-an-address", 1).status().code(), Code::kInvalidArgument);
}

TEST(TcpProxyTest, ATargetThatRefusesClosesTheClient) {
  // A port with nothing behind it: a listener opened and closed again.
  uint16_t dead_port;
  {
    EchoServer gone;
    dead_port = gone.port();
  }
  auto p = TcpProxy::Start("127.0.0.1", dead_port);
  ASSERT_TRUE(p.ok());
  Client c((*p)->port());
  EXPECT_TRUE(c.WaitClosed());
  EXPECT_TRUE(Eventually([&] { return (*p)->counts().connect_failed == 1; }));
}

// Switching modes from one thread while others stream through: every byte
// arrives, once, in order, once the link passes again.
TEST(TcpProxyTest, StallAndResumeUnderTrafficLoseAndReorderNothing) {
  EchoServer echo;
  auto proxy = ProxyTo(echo);
  ASSERT_NE(proxy, nullptr);
  constexpr int kClients = 4;
  constexpr size_t kBytes = 1 << 20;
  std::atomic<bool> ok{true};
  std::atomic<int> finished{0};
  std::vector<std::thread> clients;
  clients.reserve(kClients);
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      Client c(proxy->port());
      std::string data = Pattern(kBytes, static_cast<unsigned>(i + 2));
      std::string back;
      // Small writes, each read back before the next, so the stream is
      // in flight through every switch.
      for (size_t at = 0; at < data.size() && ok; at += 4096) {
        std::string_view chunk = std::string_view(data).substr(at, 4096);
        if (!c.Send(chunk)) ok = false;
        back += c.Read(chunk.size(), seconds(30));
      }
      if (back != data) ok = false;
      finished.fetch_add(1);
    });
  }
  int switches = 0;
  while (finished.load() < kClients) {
    proxy->Stall();
    proxy->Resume();
    ++switches;
  }
  for (std::thread& t : clients) t.join();
  EXPECT_TRUE(ok);
  EXPECT_GT(switches, 0);
  EXPECT_EQ(proxy->counts().to_target, kClients * kBytes);
}

TEST(TcpProxyTest, StopClosesConnectionsAndIsIdempotent) {
  EchoServer echo;
  auto proxy = ProxyTo(echo);
  ASSERT_NE(proxy, nullptr);
  Client c(proxy->port());
  ASSERT_TRUE(c.Send("x"));
  ASSERT_EQ(c.Read(1), "x");
  proxy->Stop();
  EXPECT_TRUE(c.WaitClosed());
  proxy->Stop();
  proxy->Stall();  // after Stop: nothing happens
  Client after(proxy->port());
  EXPECT_FALSE(after.connected()) << "nothing listens after Stop";
}

}  // namespace
}  // namespace aether::testing
