// Private to the HTTP client (common/http_client.cc): TCP connections whose
// every wait ends at a deadline or when the request is cancelled.
//
// Blocking calls, not an event loop: a request runs on its caller's thread,
// which is what the callers want (the gateway's and the dataplane's own
// threads, the control link's loops), and a blocked recv() costs nothing.
// The socket is non-blocking underneath; a read or write that would block
// waits in poll() for what is left of the deadline. Cancellation shuts the
// socket down from the cancelling thread, which wakes that poll() (and a
// connect in progress) at once.
#pragma once

#include <poll.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/system_error.hpp>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>

#include "common/ip_address.h"
#include "common/result.h"

namespace aether::http_internal {

using Deadline = std::chrono::steady_clock::time_point;

// One request's cancellation: a stop request on its token shuts down the
// socket attached at that moment. Thread-safety: the request's thread
// calls Attach/Detach/requested; the stop callback runs on the thread that
// requests the stop.
class Cancellation {
 public:
  explicit Cancellation(std::stop_token token);
  Cancellation(const Cancellation&) = delete;
  Cancellation& operator=(const Cancellation&) = delete;

  bool requested() const { return requested_.load(std::memory_order_acquire); }
  // From now on a stop request shuts `fd` down. False (nothing attached)
  // when the stop was requested already.
  bool Attach(int fd);
  // Before the attached socket is closed or kept for another request.
  void Detach();

 private:
  struct OnStop {
    Cancellation* self;
    void operator()() const noexcept;
  };
  std::mutex mu_;  // fd_ against the stop callback
  int fd_ = -1;
  std::atomic<bool> requested_{false};
  // Last: unregistered (waiting for a running callback) before the rest goes.
  std::optional<std::stop_callback<OnStop>> callback_;
};

// A connected TCP socket whose reads and writes wait up to a deadline. A
// Beast SyncReadStream/SyncWriteStream, and the next layer of an
// asio::ssl::stream (hence lowest_layer and the executor).
class SocketStream {
 public:
  using socket_type = boost::asio::ip::tcp::socket;
  using lowest_layer_type = socket_type::lowest_layer_type;
  using executor_type = socket_type::executor_type;

  // `socket` is connected and in non-blocking mode (Connect makes it so).
  explicit SocketStream(socket_type socket) : socket_(std::move(socket)) {}

  lowest_layer_type& lowest_layer() { return socket_.lowest_layer(); }
  const lowest_layer_type& lowest_layer() const { return socket_.lowest_layer(); }
  executor_type get_executor() { return socket_.get_executor(); }
  int native_handle() { return socket_.native_handle(); }
  // Reads and writes fail with asio::error::timed_out once it has passed.
  void set_deadline(Deadline deadline) { deadline_ = deadline; }

  template <typename MutableBuffers>
  size_t read_some(const MutableBuffers& buffers, boost::system::error_code& ec) {
    for (;;) {
      size_t n = socket_.read_some(buffers, ec);
      if (ec != boost::asio::error::would_block) return n;
      if (!Wait(POLLIN, ec)) return 0;
    }
  }
  template <typename ConstBuffers>
  size_t write_some(const ConstBuffers& buffers, boost::system::error_code& ec) {
    for (;;) {
      size_t n = socket_.write_some(buffers, ec);
      if (ec != boost::asio::error::would_block) return n;
      if (!Wait(POLLOUT, ec)) return 0;
    }
  }
  // The throwing forms the stream concepts ask for; the client uses the above.
  template <typename MutableBuffers>
  size_t read_some(const MutableBuffers& buffers) {
    boost::system::error_code ec;
    size_t n = read_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }
  template <typename ConstBuffers>
  size_t write_some(const ConstBuffers& buffers) {
    boost::system::error_code ec;
    size_t n = write_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }

 private:
  // Until the socket is ready for `events` (or has an error to report):
  // true; false with `ec` = timed_out past the deadline.
  bool Wait(short events, boost::system::error_code& ec);

  socket_type socket_;
  Deadline deadline_ = Deadline::max();
};

// Resolves `host` (once) and connects to the first address that
// `check_address` (when set) accepts and that answers, by `deadline`.
// The socket comes back non-blocking, close-on-exec, with TCP_NODELAY, on
// `ioc` (which is never run: it only owns the socket's registration).
// Errors: Unavailable "cannot resolve H: ..." / "cannot connect to H:P:
// <reason of the last address tried>" (a connect that does not complete by
// the deadline: "Connection timed out"); check_address's status for the
// first address when it accepts none. A cancelled connect fails the same
// way; the caller asks `cancel` which it was.
Result<boost::asio::ip::tcp::socket> Connect(
    boost::asio::io_context& ioc, const std::string& host, const std::string& port,
    Deadline deadline, Cancellation& cancel,
    const std::function<Status(const IpAddress&)>& check_address);

}  // namespace aether::http_internal
