#include "tcp_proxy.h"

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <future>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

namespace aether::testing {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

}  // namespace

struct TcpProxy::Impl {
  struct Session;

  // Declared first: destroyed last, after the sessions its handlers hold.
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::thread thread;

  // Serializes the controls with Stop(): while one runs, the I/O thread does.
  std::mutex control_mu;
  std::mutex stop_mu;  // one Stop() joins the thread
  bool stopped = false;

  // I/O thread only.
  std::optional<tcp::endpoint> target;
  std::set<std::shared_ptr<Session>> sessions;

  std::atomic<Mode> mode{Mode::kPass};
  std::atomic<uint64_t> accepted{0}, refused{0}, dropped{0}, open{0}, connect_failed{0};
  std::atomic<uint64_t> to_target{0}, to_client{0}, held{0};

  void Accept();
  void Apply(Mode m);
  // Runs `fn` on the I/O thread and waits for it; nothing after Stop().
  template <typename F>
  void OnIoThread(F&& fn);
};

// One accepted connection and its connection to the target. Lives in
// Impl::sessions (and in the handlers in flight) until Close().
struct TcpProxy::Impl::Session : std::enable_shared_from_this<Session> {
  // One direction: bytes read from `from`, held in `pending` while the
  // link stalls, written to `to` from `out`.
  struct Pump {
    tcp::socket* from;
    tcp::socket* to;
    std::atomic<uint64_t>* forwarded;
    std::array<char, size_t{64} << 10> buf{};
    std::string pending{}, out{};
    bool reading = false, writing = false, eof = false, shut = false;
  };

  Session(Impl& proxy, tcp::socket&& client_socket)
      : proxy(proxy), client(std::move(client_socket)), upstream(proxy.ioc) {}

  void Start() {
    Read(up);
    if (proxy.mode.load() == Mode::kPass) Connect();
  }

  // Connects to the target when the link passes and there is one.
  void Connect() {
    if (closed || connected || connecting || !proxy.target) return;
    connecting = true;
    upstream.async_connect(*proxy.target, [self = shared_from_this()](const error_code& ec) {
      self->connecting = false;
      if (self->closed) return;
      if (ec) {
        self->proxy.connect_failed.fetch_add(1);
        self->Close();
        return;
      }
      self->connected = true;
      self->Read(self->down);
      self->Flush(self->up);
    });
  }

  void Read(Pump& p) {
    if (closed || p.reading || p.eof || p.pending.size() >= kMaxHeldPerDirection) return;
    if (p.from == &upstream && !connected) return;
    p.reading = true;
    p.from->async_read_some(asio::buffer(p.buf),
                            [self = shared_from_this(), &p](const error_code& ec, size_t n) {
                              p.reading = false;
                              if (self->closed) return;
                              if (ec == asio::error::eof) {
                                p.eof = true;  // follows the bytes before it
                                self->Flush(p);
                                return;
                              }
                              if (ec) {
                                self->Close();
                                return;
                              }
                              p.pending.append(p.buf.data(), n);
                              self->proxy.held.fetch_add(n);
                              self->Flush(p);
                              self->Read(p);
                            });
  }

  // Writes what is held, or passes the end on, when the link passes.
  void Flush(Pump& p) {
    if (closed || p.writing || !connected || proxy.mode.load() != Mode::kPass) return;
    if (!p.pending.empty()) {
      p.out.swap(p.pending);
      p.writing = true;
      asio::async_write(*p.to, asio::buffer(p.out),
                        [self = shared_from_this(), &p](const error_code& ec, size_t) {
                          p.writing = false;
                          if (self->closed) return;
                          if (ec) {
                            self->Close();
                            return;
                          }
                          self->proxy.held.fetch_sub(p.out.size());
                          p.forwarded->fetch_add(p.out.size());
                          p.out.clear();
                          self->Flush(p);
                          self->Read(p);
                        });
      return;
    }
    if (p.eof && !p.shut) {
      p.shut = true;
      error_code ignored;
      p.to->shutdown(tcp::socket::shutdown_send, ignored);
      if (up.shut && down.shut) Close();  // both ends said all they had to say
    }
  }

  void Resume() {
    Connect();
    Flush(up);
    Flush(down);
  }

  void Close() {
    if (closed) return;
    closed = true;
    error_code ignored;
    client.close(ignored);
    upstream.close(ignored);
    proxy.held.fetch_sub(up.pending.size() + up.out.size() + down.pending.size() + down.out.size());
    proxy.open.fetch_sub(1);
    proxy.sessions.erase(shared_from_this());
  }

  Impl& proxy;
  tcp::socket client, upstream;
  Pump up{&client, &upstream, &proxy.to_target};
  Pump down{&upstream, &client, &proxy.to_client};
  bool connected = false, connecting = false, closed = false;
};

void TcpProxy::Impl::Accept() {
  acceptor.async_accept([this](const error_code& ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
    if (!ec) {
      if (mode.load() == Mode::kDrop) {
        refused.fetch_add(1);
        error_code ignored;
        socket.close(ignored);
      } else {
        accepted.fetch_add(1);
        open.fetch_add(1);
        auto s = std::make_shared<Session>(*this, std::move(socket));
        sessions.insert(s);
        s->Start();
      }
    }
    Accept();
  });
}

void TcpProxy::Impl::Apply(Mode m) {
  mode.store(m);
  // Close() erases from `sessions`: walk a copy.
  std::vector<std::shared_ptr<Session>> all(sessions.begin(), sessions.end());
  for (const auto& s : all) {
    if (m == Mode::kDrop) {
      dropped.fetch_add(1);
      s->Close();
    } else if (m == Mode::kPass) {
      s->Resume();
    }
  }
}

template <typename F>
void TcpProxy::Impl::OnIoThread(F&& fn) {
  std::lock_guard lock(control_mu);
  if (stopped) return;
  std::promise<void> done;
  asio::post(ioc, [&] {
    fn();
    done.set_value();
  });
  done.get_future().wait();
}

Result<std::unique_ptr<TcpProxy>> TcpProxy::Start(const std::string& target_host,
                                                  uint16_t target_port) {
  auto impl = std::make_unique<Impl>();
  error_code ec;
  asio::ip::address target_address = asio::ip::make_address(target_host, ec);
  if (ec) return InvalidArgument("the proxy's target must be an IP address, not " + target_host);
  if (target_port != 0) impl->target = tcp::endpoint(target_address, target_port);
  tcp::endpoint listen_on(asio::ip::make_address("127.0.0.1"), 0);
  impl->acceptor.open(listen_on.protocol(), ec);
  if (!ec) impl->acceptor.bind(listen_on, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Internal("the proxy cannot listen on 127.0.0.1: " + ec.message());
  uint16_t port = impl->acceptor.local_endpoint().port();
  impl->Accept();
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->ioc.run(); });
  std::unique_ptr<TcpProxy> proxy(new TcpProxy(std::move(impl)));
  proxy->port_ = port;
  return proxy;
}

TcpProxy::TcpProxy(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

// Only std::system_error from a lock or a join can escape Stop(): the
// process is broken then, and terminating is right.
TcpProxy::~TcpProxy() { Stop(); }  // NOLINT(bugprone-exception-escape)

Status TcpProxy::SetTarget(uint16_t port, const std::string& host) {
  error_code ec;
  asio::ip::address address = asio::ip::make_address(host, ec);
  if (ec) return InvalidArgument("the proxy's target must be an IP address, not " + host);
  Impl& d = *impl_;
  d.OnIoThread([&d, endpoint = tcp::endpoint(address, port)] {
    d.target = endpoint;
    d.Apply(d.mode.load());  // connections waiting for a target go now (in Pass)
  });
  return OkStatus();
}

void TcpProxy::SetMode(Mode mode) {
  Impl& d = *impl_;
  d.OnIoThread([&d, mode] { d.Apply(mode); });
}

TcpProxy::Mode TcpProxy::mode() const { return impl_->mode.load(); }

TcpProxy::Counts TcpProxy::counts() const {
  const Impl& d = *impl_;
  Counts c;
  c.accepted = d.accepted.load();
  c.refused = d.refused.load();
  c.dropped = d.dropped.load();
  c.open = d.open.load();
  c.connect_failed = d.connect_failed.load();
  c.to_target = d.to_target.load();
  c.to_client = d.to_client.load();
  c.held = d.held.load();
  return c;
}

void TcpProxy::Stop() {
  Impl& d = *impl_;
  std::lock_guard lock(d.stop_mu);
  d.OnIoThread([&d] {
    error_code ignored;
    d.acceptor.close(ignored);
    std::vector<std::shared_ptr<Impl::Session>> all(d.sessions.begin(), d.sessions.end());
    for (const auto& s : all) s->Close();
    d.ioc.stop();
    d.stopped = true;  // under control_mu: no control posts to the stopped context
  });
  if (d.thread.joinable()) d.thread.join();
}

}  // namespace aether::testing
