#include "common/internal/client_socket.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace aether::http_internal {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// poll() on `fd` for `events` until `deadline`: the revents, 0 past the
// deadline, -1 (errno set) on failure.
int PollUntil(int fd, short events, Deadline deadline) {
  for (;;) {
    auto left = deadline - Clock::now();
    if (left <= Clock::duration::zero()) return 0;
    // Rounded up: poll(0) would spin through the last millisecond.
    auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
    pollfd p{fd, events, 0};
    int rc = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(ms, 1 << 30)));
    if (rc > 0) return p.revents;
    if (rc < 0 && errno != EINTR) return -1;
  }
}

// Connects the non-blocking `fd`: 0 or the errno of the failure
// (ETIMEDOUT past the deadline).
int ConnectFd(int fd, const tcp::endpoint& e, Deadline deadline, Cancellation& cancel) {
  if (::connect(fd, e.data(), static_cast<socklen_t>(e.size())) == 0) return 0;
  if (errno != EINPROGRESS) return errno;
  // Attached only now: shutting down a socket before connect() would not
  // stop the connect; one in progress it aborts.
  if (!cancel.Attach(fd)) return ECANCELED;
  int revents = PollUntil(fd, POLLOUT, deadline);
  int err = revents < 0 ? errno : revents == 0 ? ETIMEDOUT : 0;
  cancel.Detach();
  if (err != 0) return err;
  if (cancel.requested()) return ECANCELED;
  socklen_t len = sizeof err;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
  return err;
}

}  // namespace

Cancellation::Cancellation(std::stop_token token) {
  if (token.stop_possible()) callback_.emplace(std::move(token), OnStop{this});
}

void Cancellation::OnStop::operator()() const noexcept {
  std::lock_guard lock(self->mu_);
  self->requested_.store(true, std::memory_order_release);
  if (self->fd_ >= 0) ::shutdown(self->fd_, SHUT_RDWR);
}

bool Cancellation::Attach(int fd) {
  if (!callback_) return true;  // nothing can cancel this request
  std::lock_guard lock(mu_);
  if (requested_.load(std::memory_order_relaxed)) return false;
  fd_ = fd;
  return true;
}

void Cancellation::Detach() {
  if (!callback_) return;
  std::lock_guard lock(mu_);
  fd_ = -1;
}

bool SocketStream::Wait(short events, boost::system::error_code& ec) {
  int revents = PollUntil(socket_.native_handle(), events, deadline_);
  if (revents == 0) {
    ec = asio::error::timed_out;
    return false;
  }
  if (revents < 0) {
    ec = boost::system::error_code(errno, boost::system::system_category());
    return false;
  }
  // Ready, or an error / hang-up that the next read or write reports.
  return true;
}

Result<tcp::socket> Connect(asio::io_context& ioc, const std::string& host, const std::string& port,
                            Deadline deadline, Cancellation& cancel,
                            const std::function<Status(const IpAddress&)>& check_address) {
  const std::string where =
      (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + port;
  // Resolved once, here: the addresses checked are the addresses tried.
  tcp::resolver resolver(ioc);
  boost::system::error_code ec;
  tcp::resolver::results_type endpoints = resolver.resolve(host, port, ec);
  if (ec) return Unavailable("cannot resolve " + host + ": " + ec.message());
  std::vector<tcp::endpoint> accepted;
  Status refused;
  for (const auto& entry : endpoints) {
    tcp::endpoint e = entry.endpoint();
    if (check_address) {
      std::optional<IpAddress> address = FromSockaddr(e.data());
      Status st = address ? check_address(*address)
                          : PermissionDenied("unsupported address family for " + where);
      if (!st.ok()) {
        if (refused.ok()) refused = std::move(st);
        continue;
      }
    }
    accepted.push_back(e);
  }
  if (accepted.empty()) {
    return refused.ok() ? Unavailable("cannot resolve " + host + ": no address") : refused;
  }
  std::string error = "no address";
  for (const tcp::endpoint& e : accepted) {
    int fd = ::socket(e.protocol().family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                      e.protocol().protocol());
    if (fd < 0) {
      error = std::strerror(errno);
      continue;
    }
    int err = ConnectFd(fd, e, deadline, cancel);
    if (err == 0) {
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      tcp::socket socket(ioc);
      socket.assign(e.protocol(), fd, ec);
      if (!ec) socket.non_blocking(true, ec);  // the fd is; this tells Asio
      if (!ec) return socket;
      error = ec.message();
      if (!socket.is_open()) ::close(fd);
      continue;
    }
    ::close(fd);
    error = std::strerror(err);
    if (err == ECANCELED || Clock::now() >= deadline) break;  // no time for other addresses
  }
  return Unavailable("cannot connect to " + where + ": " + error);
}

}  // namespace aether::http_internal
