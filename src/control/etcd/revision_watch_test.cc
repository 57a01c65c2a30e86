// RevisionWatch against endpoints that are not a well-behaved etcd: the
// real etcd cases are in control/etcd_store_test.cc.
#include "control/etcd/revision_watch.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <thread>

namespace aether::control::etcd {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;

// Answers every connection with a chunked 200 whose body is one endless
// line ("xxxx..." and never a newline), until the client goes away.
class EndlessLineServer {
 public:
  EndlessLineServer() : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
    thread_ = std::thread([this] { Run(); });
  }
  ~EndlessLineServer() {
    stop_ = true;
    // Wakes a blocking accept or send (closing a descriptor from another
    // thread would not; a send to a client that went away can block for a
    // minute).
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
    if (int fd = client_fd_.load(); fd >= 0) ::shutdown(fd, SHUT_RDWR);
    thread_.join();
  }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
  }
  int64_t sent_mib() const { return sent_ >> 20; }

 private:
  void Run() {
    while (!stop_) {
      boost::system::error_code ec;
      tcp::socket s(io_);
      acceptor_.accept(s, ec);
      if (ec) return;
      client_fd_ = s.native_handle();
      asio::streambuf request;
      asio::read_until(s, request, "\r\n\r\n", ec);
      std::string head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
      asio::write(s, asio::buffer(head), ec);
      std::string chunk = "4000\r\n" + std::string(0x4000, 'x') + "\r\n";
      while (!ec && !stop_) {
        asio::write(s, asio::buffer(chunk), ec);
        sent_ += 0x4000;
      }
      client_fd_ = -1;
    }
  }

  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> sent_{0};
  std::atomic<int> client_fd_{-1};
  std::thread thread_;
};

TEST(RevisionWatchTest, AnEndlessMessageDropsTheStreamInsteadOfGrowingMemory) {
  EndlessLineServer server;
  std::atomic<int64_t> published{0};
  RevisionWatch watch({.endpoints = {server.url()},
                       .prefix = "/p/",
                       .start_revision = 7,
                       .revision = [] { return Result<int64_t>(7); },
                       .token = [] { return std::string(); },
                       .publish = [&](int64_t r) { published = r; },
                       .max_message_bytes = 1 << 20});
  // Without the bound the first stream would be read forever; with it the
  // watch gives up on it after ~1 MiB and opens another.
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (watch.streams() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_GE(watch.streams(), 2) << "sent " << server.sent_mib() << " MiB";
  watch.Stop();
  EXPECT_EQ(published.load(), 7);  // between streams it polls the revision
}

}  // namespace
}  // namespace aether::control::etcd
