// The public face of the HTTP server: options, the acceptor, IO threads and
// graceful stop. A connection's life is in internal/http_connection.h, the
// state it shares in internal/http_server_core.h, the connection caps in
// internal/connection_limiter.{h,cc}, routing and target decoding in
// internal/http_router.{h,cc}.
#include "common/http_server.h"

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/json.hpp>
#include <charconv>
#include <optional>
#include <thread>

#include "common/internal/http_connection.h"
#include "common/internal/http_router.h"
#include "common/json_util.h"
#include "common/log.h"

namespace aether {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using http_internal::Clock;
using http_internal::Connection;
using http_internal::ConnectionBase;
using http_internal::ConnectionLimiter;
using http_internal::EqualsIgnoreCase;
using http_internal::FindHeader;
using http_internal::IoWorker;
using http_internal::ServerCore;
using http_internal::ServerMetrics;
using http_internal::Socket;

std::string FormatEndpoint(const std::string& host, uint16_t port) {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

// max_connections, lowered to 3/4 of the open-file limit when that is
// smaller: past it, accept() would fail with EMFILE, and so would the
// process's files and outgoing connections.
size_t EffectiveMaxConnections(size_t configured) {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return configured;
  size_t fit = std::max<size_t>(static_cast<size_t>(rl.rlim_cur) / 4 * 3, 1);
  if (fit >= configured) return configured;
  LOG_INFO("[server] max_connections {} lowered to {}: the open-file limit (ulimit -n) is {}",
           configured, fit, static_cast<uint64_t>(rl.rlim_cur));
  return fit;
}

}  // namespace

std::string_view HttpRequest::Header(std::string_view name) const {
  return FindHeader(headers, name);
}

Result<std::optional<int64_t>> HttpRequest::QueryInt(const std::string& key) const {
  auto it = query.find(key);
  if (it == query.end() || it->second.empty()) return std::optional<int64_t>();
  int64_t v = 0;
  const char* end = it->second.data() + it->second.size();
  auto [p, ec] = std::from_chars(it->second.data(), end, v);
  if (ec != std::errc() || p != end || v < 0) {
    return InvalidArgument("query parameter \"" + key + "\" must be a non-negative integer");
  }
  return std::optional<int64_t>(v);
}

bool HttpRequest::HasHeader(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (EqualsIgnoreCase(k, name)) return true;
  }
  return false;
}

bool IsHopByHopHeader(std::string_view name) {
  for (std::string_view h :
       {"Connection", "Keep-Alive", "TE", "Trailer", "Transfer-Encoding", "Upgrade"}) {
    if (EqualsIgnoreCase(name, h)) return true;
  }
  return name.size() >= 6 && EqualsIgnoreCase(name.substr(0, 6), "Proxy-");
}

bool IsHttpToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool tchar = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!tchar) return false;
  }
  return true;
}

std::string_view HttpResponse::Header(std::string_view name) const {
  return FindHeader(headers, name);
}

HttpResponse JsonError(int status, std::string_view code, std::string_view message) {
  HttpResponse r;
  r.status = status;
  r.body.reserve(message.size() + code.size() + 24);
  r.body = "{\"error\":";
  AppendJsonEscaped(r.body, message);
  r.body += ",\"code\":";
  AppendJsonEscaped(r.body, code);
  r.body += '}';
  return r;
}

HttpResponse JsonError(const Status& status) {
  int http_status = 500;
  switch (status.code()) {
    case Code::kInvalidArgument:
      http_status = 400;
      break;
    case Code::kUnauthenticated:
      http_status = 401;
      break;
    case Code::kPermissionDenied:
      http_status = 403;
      break;
    case Code::kNotFound:
      http_status = 404;
      break;
    case Code::kAlreadyExists:
    case Code::kFailedPrecondition:
      http_status = 409;
      break;
    case Code::kResourceExhausted:
      http_status = 429;
      break;
    case Code::kUnavailable:
      http_status = 503;
      break;
    case Code::kDeadlineExceeded:
      http_status = 504;
      break;
    case Code::kOk:
    case Code::kInternal:
      http_status = 500;
      break;
  }
  return JsonError(http_status, CodeName(status.code()), status.message());
}

HttpResponse JsonOk(const boost::json::value& v) {
  HttpResponse r;
  r.body = boost::json::serialize(v);
  return r;
}

HttpServerOptions HttpServerOptions::FromConfig(const ServerConfig& config, uint16_t default_port) {
  HttpServerOptions o;
  o.host = config.host;
  o.port = config.port >= 0 ? static_cast<uint16_t>(config.port) : default_port;
  o.max_body = config.max_body;
  o.idle_timeout = config.idle_timeout;
  o.header_timeout = config.header_timeout;
  o.body_timeout = config.body_timeout;
  o.min_body_rate = config.min_body_rate;
  o.max_connections = config.max_connections;
  o.max_connections_per_client = config.max_connections_per_client;
  // Auto: one per core, and at least two, so that one handler slow to
  // answer never stalls every connection.
  o.io_threads = config.io_threads != 0 ? config.io_threads
                                        : std::max(2u, std::thread::hardware_concurrency());
  o.tls_cert = config.tls_cert;
  o.tls_key = config.tls_key;
  return o;
}

struct HttpServer::Impl {
  std::shared_ptr<ServerCore> core = std::make_shared<ServerCore>();
  std::vector<std::shared_ptr<IoWorker>> workers;
  std::optional<tcp::acceptor> acceptor;  // runs on workers[0]
  std::optional<asio::steady_timer> accept_retry;
  size_t next_worker = 0;  // acceptor thread only
  uint16_t port = 0;
  bool started = false;
  bool stopped = false;

  Status Listen();
  void Accept();
};

Status HttpServer::Impl::Listen() {
  const HttpServerOptions& opt = core->options;
  std::string where = FormatEndpoint(opt.host, opt.port);
  beast::error_code ec;
  asio::ip::address address = asio::ip::make_address(opt.host, ec);
  if (ec) {
    tcp::resolver resolver(workers[0]->ioc);
    auto results = resolver.resolve(opt.host, "", ec);
    if (ec || results.empty()) {
      return InvalidArgument("cannot listen on " + where + ": cannot resolve host \"" + opt.host +
                             "\"" + (ec ? ": " + ec.message() : ""));
    }
    address = results.begin()->endpoint().address();
  }
  tcp::endpoint endpoint(address, opt.port);
  acceptor.emplace(workers[0]->ioc);
  auto fail = [&](const beast::error_code& e) {
    return Unavailable("cannot listen on " + where + ": " + e.message());
  };
  acceptor->open(endpoint.protocol(), ec);
  if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor->bind(endpoint, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail(ec);
  port = acceptor->local_endpoint(ec).port();
  if (ec) return fail(ec);
  return OkStatus();
}

void HttpServer::Impl::Accept() {
  IoWorker* target = workers[next_worker].get();
  next_worker = (next_worker + 1) % workers.size();
  acceptor->async_accept(target->ioc, [this, target](beast::error_code ec, Socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor->is_open()) return;
      // Out of file descriptors and the like: back off instead of spinning.
      LOG_WARN("accept failed: {}", ec.message());
      accept_retry->expires_after(std::chrono::milliseconds(100));
      accept_retry->async_wait([this](beast::error_code e) {
        if (!e && acceptor->is_open()) Accept();
      });
      return;
    }
    beast::error_code e;
    tcp::endpoint peer = socket.remote_endpoint(e);
    if (e) {  // already gone
      Accept();
      return;
    }
    std::string_view refused;
    std::optional<ConnectionLimiter::Slot> slot =
        core->limiter->TryAcquire(peer.address(), &refused);
    if (!slot) {
      // Closed at once: answering would spend on a flood what the cap saves.
      core->metrics->rejected.WithLabels({{"reason", refused}}).Inc();
      LOG_DEBUG("refused a connection from {}: {}", peer.address().to_string(), refused);
      socket.close(e);
      Accept();
      return;
    }
    socket.set_option(tcp::no_delay(true), e);
    std::string remote = FormatEndpoint(peer.address().to_string(), peer.port());
    asio::post(target->ioc, [core = core, target, s = std::move(socket), remote = std::move(remote),
                             slot = std::move(*slot)]() mutable {
      if (target->stopping) return;
      std::shared_ptr<ConnectionBase> c;
      if (core->tls) {
        c = std::make_shared<Connection<ssl::stream<Socket>>>(
            ssl::stream<Socket>(std::move(s), *core->tls), core, target, std::move(remote),
            std::move(slot));
      } else {
        c = std::make_shared<Connection<Socket>>(std::move(s), core, target, std::move(remote),
                                                 std::move(slot));
      }
      target->connections.emplace(c.get(), c);
      c->Start();
    });
    Accept();
  });
}

HttpServer::HttpServer(HttpServerOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->core->options = std::move(options);
  if (impl_->core->options.io_threads == 0) impl_->core->options.io_threads = 1;
}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Route(std::string_view method, std::string_view path, Handler handler) {
  Route(method, path, GuardedHandler{nullptr, std::move(handler)});
}

void HttpServer::Route(std::string_view method, std::string_view path, GuardedHandler route) {
  CHECK(!impl_->started);
  CHECK(route.handler);
  impl_->core->router.Add(method, path, false, std::move(route));
}

void HttpServer::RoutePrefix(std::string_view method, std::string_view prefix, Handler handler) {
  RoutePrefix(method, prefix, GuardedHandler{nullptr, std::move(handler)});
}

void HttpServer::RoutePrefix(std::string_view method, std::string_view prefix,
                             GuardedHandler route) {
  CHECK(!impl_->started);
  CHECK(route.handler);
  impl_->core->router.Add(method, prefix, true, std::move(route));
}

Status HttpServer::Start() {
  Impl& d = *impl_;
  if (d.started || d.stopped) return FailedPrecondition("HTTP server already started");
  const HttpServerOptions& opt = d.core->options;
  if (!opt.tls_cert.empty() || !opt.tls_key.empty()) {
    if (opt.tls_cert.empty() || opt.tls_key.empty()) {
      return InvalidArgument("TLS needs both a certificate and a key (tls_cert, tls_key)");
    }
    auto& ctx = d.core->tls.emplace(ssl::context::tls_server);
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                    ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    beast::error_code ec;
    ctx.use_certificate_chain_file(opt.tls_cert, ec);
    if (ec) {
      return InvalidArgument("cannot load TLS certificate " + opt.tls_cert + ": " + ec.message());
    }
    ctx.use_private_key_file(opt.tls_key, ssl::context::pem, ec);
    if (ec) {
      return InvalidArgument("cannot load TLS key " + opt.tls_key + ": " + ec.message());
    }
  }
  if (opt.metrics == nullptr) d.core->own_metrics = std::make_unique<MetricsRegistry>();
  d.core->metrics.emplace(opt.metrics != nullptr ? *opt.metrics : *d.core->own_metrics);
  d.core->limiter = std::make_shared<ConnectionLimiter>(
      EffectiveMaxConnections(opt.max_connections), opt.max_connections_per_client);
  for (size_t i = 0; i < opt.io_threads; ++i) d.workers.push_back(std::make_shared<IoWorker>());
  if (Status st = d.Listen(); !st.ok()) {
    d.acceptor.reset();
    d.workers.clear();
    return st;
  }
  d.accept_retry.emplace(d.workers[0]->ioc);
  d.Accept();
  for (auto& w : d.workers) {
    std::function<void()> body = [w = w.get()] {
      auto guard = asio::make_work_guard(w->ioc);
      w->ioc.run();
    };
    if (opt.start_thread) {
      w->join = opt.start_thread(std::move(body));
    } else {
      auto t = std::make_shared<std::thread>(std::move(body));
      w->join = [t] { t->join(); };
    }
  }
  d.started = true;
  return OkStatus();
}

void HttpServer::Stop() {
  Impl& d = *impl_;
  if (!d.started || d.stopped) return;
  d.stopped = true;
  asio::post(d.workers[0]->ioc, [&d] {
    beast::error_code ec;
    d.acceptor->close(ec);
    d.accept_retry->cancel();
  });
  for (auto& w : d.workers) {
    asio::post(w->ioc, [w = w.get()] {
      w->stopping = true;
      std::vector<std::shared_ptr<ConnectionBase>> connections;
      for (auto& [ptr, c] : w->connections) connections.push_back(c);
      for (auto& c : connections) c->OnServerStop();
    });
  }
  auto deadline = Clock::now() + d.core->options.stop_timeout;
  while (d.core->live_connections.load() > 0 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  for (auto& w : d.workers) w->ioc.stop();
  for (auto& w : d.workers) w->join();
  // The threads are gone: what is left may be touched from here.
  d.acceptor.reset();
  d.accept_retry.reset();
  for (auto& w : d.workers) {
    for (auto& [ptr, c] : w->connections) c->Abort();
    w->connections.clear();
  }
  // Destroys each io_context with the work still pending on it (and the
  // Responders that work holds). A Responder held elsewhere holds its
  // worker weakly: its late answer goes nowhere.
  d.workers.clear();
}

uint16_t HttpServer::port() const { return impl_->port; }

std::string HttpServer::url() const {
  std::string host = impl_->core->options.host;
  if (host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::") host = "::1";
  return (impl_->core->tls ? "https://" : "http://") + FormatEndpoint(host, impl_->port);
}

void WaitForShutdownSignal() {
  asio::io_context ioc(1);
  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([](const beast::error_code& ec, int signal) {
    if (!ec) LOG_INFO("received signal {}, shutting down", signal);
  });
  ioc.run();
}

}  // namespace aether
