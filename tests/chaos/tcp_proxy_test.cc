// TcpProxy against a real TCP echo server on 127.0.0.1: each mode, the
// switches between them, Stop. Clients are plain blocking sockets with
// deadlines (RawConn), so what they see is what any TCP client would see.
#include "tcp_proxy.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/raw_conn_test_util.h"
#include "common/testing/eventually.h"

namespace aether::testing {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using std::chrono::milliseconds;
using std::chrono::seconds;

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

// An echo server and a proxy in front of it.
class TcpProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto p = TcpProxy::Start("127.0.0.1", echo_.port());
    ASSERT_TRUE(p.ok()) << p.status().message();
    proxy_ = std::move(p).value();
  }

  // A connection through the proxy that has echoed one byte.
  std::unique_ptr<RawConn> Connected() {
    auto c = std::make_unique<RawConn>(proxy_->port());
    EXPECT_TRUE(c->Send("x"));
    EXPECT_EQ(c->ReadBytes(1), "x");
    return c;
  }

  EchoServer echo_;
  std::unique_ptr<TcpProxy> proxy_;
};

TEST_F(TcpProxyTest, PassForwardsBothWaysAndCounts) {
  RawConn c(proxy_->port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.Send("hello"));
  EXPECT_EQ(c.ReadBytes(5), "hello");

  // Large enough for partial reads and writes on every hop.
  std::string big = Pattern(3 << 20);
  std::thread writer([&] { EXPECT_TRUE(c.Send(big)); });
  std::string back = c.ReadBytes(big.size(), seconds(30));
  writer.join();
  EXPECT_TRUE(back == big) << "got " << back.size() << " of " << big.size() << " bytes";

  TcpProxy::Counts n = proxy_->counts();
  EXPECT_EQ(n.accepted, 1u);
  EXPECT_EQ(n.open, 1u);
  EXPECT_TRUE(Eventually([&] {
    TcpProxy::Counts now = proxy_->counts();
    return now.to_target == 5 + big.size() && now.to_client == 5 + big.size();
  }));
  EXPECT_EQ(proxy_->counts().held, 0u);
  EXPECT_EQ(proxy_->mode(), TcpProxy::Mode::kPass);
}

TEST_F(TcpProxyTest, StallHoldsBytesUntilResume) {
  std::unique_ptr<RawConn> c = Connected();
  proxy_->Stall();
  EXPECT_EQ(proxy_->mode(), TcpProxy::Mode::kStall);
  ASSERT_TRUE(c->Send("during"));
  // The bytes reached the proxy and stay there: nothing comes back, and
  // the connection stays open.
  ASSERT_TRUE(Eventually([&] { return proxy_->counts().held == 6; }));
  EXPECT_EQ(c->ReadBytes(6, milliseconds(300)), "");
  EXPECT_TRUE(c->Silent());

  // A connection made during the stall is accepted and waits too: it
  // reaches the server only after Resume.
  RawConn late(proxy_->port());
  ASSERT_TRUE(late.connected());
  ASSERT_TRUE(late.Send("late"));
  ASSERT_TRUE(Eventually([&] { return proxy_->counts().held == 10; }));
  EXPECT_EQ(echo_.accepted(), 1);

  proxy_->Resume();
  EXPECT_EQ(c->ReadBytes(6), "during");
  EXPECT_EQ(late.ReadBytes(4), "late");
  EXPECT_EQ(echo_.accepted(), 2);
  EXPECT_TRUE(Eventually([&] { return proxy_->counts().held == 0; }));
  EXPECT_EQ(proxy_->counts().to_target, 11u);
}

TEST_F(TcpProxyTest, ACloseDuringAStallFollowsTheHeldBytes) {
  std::unique_ptr<RawConn> c = Connected();
  proxy_->Stall();
  ASSERT_TRUE(c->Send("last words"));
  c->ShutdownWrite();
  ASSERT_TRUE(Eventually([&] { return proxy_->counts().held == 10; }));
  EXPECT_EQ(echo_.open(), 1) << "the server has not seen the close yet";

  proxy_->Resume();
  // The server gets the bytes, then the end: it echoes them and closes.
  EXPECT_EQ(c->ReadBytes(10), "last words");
  EXPECT_TRUE(c->WaitForClose());
  EXPECT_TRUE(Eventually([&] { return echo_.open() == 0 && proxy_->counts().open == 0; }));
}

TEST_F(TcpProxyTest, DropClosesEveryConnectionAndRefusesNewOnes) {
  std::unique_ptr<RawConn> a = Connected(), b = Connected();
  // Held bytes are lost with their connection.
  proxy_->Stall();
  ASSERT_TRUE(b->Send("lost"));
  ASSERT_TRUE(Eventually([&] { return proxy_->counts().held == 4; }));

  proxy_->Drop();
  EXPECT_EQ(proxy_->counts().open, 0u);
  EXPECT_EQ(proxy_->counts().dropped, 2u);
  EXPECT_EQ(proxy_->counts().held, 0u);
  EXPECT_TRUE(a->WaitForClose());
  EXPECT_TRUE(b->WaitForClose());
  // Both ends: the server's connections end too.
  EXPECT_TRUE(Eventually([&] { return echo_.open() == 0; }));

  // A new connection is closed at once, before any byte crosses.
  RawConn c(proxy_->port());
  c.Send("x");  // may fail: the proxy may have closed it already
  EXPECT_TRUE(c.WaitForClose());
  EXPECT_TRUE(Eventually([&] { return proxy_->counts().refused >= 1; }));
  EXPECT_EQ(echo_.accepted(), 2);
  EXPECT_EQ(proxy_->counts().to_target, 2u);

  // Resume: new connections pass again.
  proxy_->Resume();
  Connected();
  EXPECT_EQ(echo_.accepted(), 3);
}

TEST_F(TcpProxyTest, ConnectionsWaitForALateTarget) {
  auto started = TcpProxy::Start();  // no target yet
  ASSERT_TRUE(started.ok()) << started.status().message();
  std::unique_ptr<TcpProxy> proxy = std::move(started).value();
  RawConn c(proxy->port());
  ASSERT_TRUE(c.Send("early"));
  ASSERT_TRUE(Eventually([&] { return proxy->counts().held == 5; }));

  ASSERT_TRUE(proxy->SetTarget(echo_.port()).ok());
  EXPECT_EQ(c.ReadBytes(5), "early");
  EXPECT_EQ(proxy->SetTarget(1, "localhost").code(), Code::kInvalidArgument);
  EXPECT_EQ(TcpProxy::Start("not-an-address", 1).status().code(), Code::kInvalidArgument);
}

TEST_F(TcpProxyTest, ATargetThatRefusesClosesTheClient) {
  // A port with nothing behind it: a listener opened and closed again.
  uint16_t dead_port;
  {
    EchoServer gone;
    dead_port = gone.port();
  }
  auto p = TcpProxy::Start("127.0.0.1", dead_port);
  ASSERT_TRUE(p.ok());
  RawConn c((*p)->port());
  EXPECT_TRUE(c.WaitForClose());
  EXPECT_TRUE(Eventually([&] { return (*p)->counts().connect_failed == 1; }));
}

// Switching modes from one thread while others stream through: every byte
// arrives, once, in order, once the link passes again.
TEST_F(TcpProxyTest, StallAndResumeUnderTrafficLoseAndReorderNothing) {
  constexpr int kClients = 4;
  constexpr size_t kBytes = 1 << 20;
  std::atomic<bool> ok{true};
  std::atomic<int> finished{0};
  std::vector<std::thread> clients;
  clients.reserve(kClients);
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      RawConn c(proxy_->port());
      std::string data = Pattern(kBytes, static_cast<unsigned>(i + 2));
      std::string back;
      // Small writes, each read back before the next, so the stream is
      // in flight through every switch.
      for (size_t at = 0; at < data.size() && ok; at += 4096) {
        std::string_view chunk = std::string_view(data).substr(at, 4096);
        if (!c.Send(chunk)) ok = false;
        back += c.ReadBytes(chunk.size(), seconds(30));
      }
      if (back != data) ok = false;
      finished.fetch_add(1);
    });
  }
  int switches = 0;
  while (finished.load() < kClients) {
    proxy_->Stall();
    proxy_->Resume();
    ++switches;
  }
  for (std::thread& t : clients) t.join();
  EXPECT_TRUE(ok);
  EXPECT_GT(switches, 0);
  EXPECT_EQ(proxy_->counts().to_target, kClients * kBytes);
}

TEST_F(TcpProxyTest, StopClosesConnectionsAndIsIdempotent) {
  std::unique_ptr<RawConn> c = Connected();
  proxy_->Stop();
  EXPECT_TRUE(c->WaitForClose());
  proxy_->Stop();
  proxy_->Stall();  // after Stop: nothing happens
  RawConn after(proxy_->port());
  EXPECT_FALSE(after.connected()) << "nothing listens after Stop";
}

}  // namespace
}  // namespace aether::testing
