// Private to the HTTP server: what the acceptor, the connections and the
// controlling thread share (ServerCore, the IO workers, the Responder's
// state) and the request parser. Included by internal/http_connection.h.
//
// Threading: an IoWorker's fields live on its IO thread; ServerCore is
// immutable after Start() except its atomics, the limiter and the metrics
// (which lock themselves); ResponderState::Send may be called from any
// thread.
#pragma once

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "common/http_server.h"
#include "common/internal/connection_limiter.h"
#include "common/internal/http_router.h"
#include "common/metrics.h"

namespace aether::http_internal {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
// Concrete executor types: the default any_io_executor costs a type-erased
// copy per operation, visible in profiles.
using Executor = asio::io_context::executor_type;
using Socket = asio::basic_stream_socket<tcp, Executor>;
using Timer = asio::basic_waitable_timer<Clock, asio::wait_traits<Clock>, Executor>;

// Parses straight into an HttpRequest, skipping Beast's own message and
// fields containers (fewer allocations per request).
class RequestParser final : public http::basic_parser<true> {
 public:
  RequestParser(HttpRequest& req, uint64_t max_body) : req_(req) {
    body_limit(max_body);
    header_limit(32 * 1024);
  }

 private:
  void on_request_impl(http::verb, beast::string_view method, beast::string_view target,
                       int version, beast::error_code&) override {
    req_.method.assign(method.data(), method.size());
    req_.target.assign(target.data(), target.size());
    req_.version = version;
    req_.headers.reserve(8);  // the usual request has fewer: one allocation, not one per doubling
  }
  void on_response_impl(int, beast::string_view, int, beast::error_code&) override {}
  void on_field_impl(http::field, beast::string_view name, beast::string_view value,
                     beast::error_code&) override {
    req_.headers.emplace_back(std::string(name.data(), name.size()),
                              std::string(value.data(), value.size()));
  }
  void on_header_impl(beast::error_code&) override {}
  void on_body_init_impl(const boost::optional<uint64_t>& length, beast::error_code&) override {
    // Already checked against body_limit by the parser.
    if (length) req_.body.reserve(*length);
  }
  size_t on_body_impl(beast::string_view body, beast::error_code&) override {
    req_.body.append(body.data(), body.size());
    return body.size();
  }
  void on_chunk_header_impl(uint64_t, beast::string_view, beast::error_code&) override {}
  size_t on_chunk_body_impl(uint64_t, beast::string_view body, beast::error_code&) override {
    req_.body.append(body.data(), body.size());
    return body.size();
  }
  void on_finish_impl(beast::error_code&) override {}

  HttpRequest& req_;
};

// What the server records (see HttpServerOptions::metrics).
struct ServerMetrics {
  explicit ServerMetrics(MetricsRegistry& r)
      : open(r.AddGauge("aether_http_connections", "Open HTTP connections").Get()),
        rejected(r.AddCounter("aether_http_connections_rejected_total",
                              "Connections closed at accept: over max_connections "
                              "(server_limit) or max_connections_per_client (client_limit)")),
        timeouts(r.AddCounter("aether_http_request_timeouts_total",
                              "Requests whose header or body did not arrive in time")),
        header_timeouts(timeouts.WithLabels({{"phase", "header"}})),
        body_timeouts(timeouts.WithLabels({{"phase", "body"}})) {
    // Present from the start, so a dashboard sees 0 rather than nothing.
    for (std::string_view reason : {"server_limit", "client_limit"}) {
      rejected.WithLabels({{"reason", reason}});
    }
  }
  Gauge& open;
  CounterFamily& rejected;
  CounterFamily& timeouts;
  Counter& header_timeouts;
  Counter& body_timeouts;
};

// State shared by the acceptor, all connections and the controlling
// thread; immutable after Start() except the atomics (and what the
// limiter and the metrics lock themselves).
struct ServerCore {
  HttpServerOptions options;
  Router router;
  std::optional<ssl::context> tls;
  std::atomic<int> live_connections{0};
  std::shared_ptr<ConnectionLimiter> limiter;    // set by Start()
  std::unique_ptr<MetricsRegistry> own_metrics;  // when options.metrics is null
  std::optional<ServerMetrics> metrics;          // set by Start()
};

class ConnectionBase;

// One IO thread with its io_context and the connections it owns. Fields
// other than `ioc` are touched only on that thread (or after it is joined).
struct IoWorker : std::enable_shared_from_this<IoWorker> {
  asio::io_context ioc{1};  // hint: one thread runs it
  std::unordered_map<ConnectionBase*, std::shared_ptr<ConnectionBase>> connections;
  bool stopping = false;
  std::function<void()> join;  // the IO thread's, once started
};

class ConnectionBase : public std::enable_shared_from_this<ConnectionBase> {
 public:
  virtual ~ConnectionBase() = default;
  virtual void Start() = 0;
  // IO thread: the server is stopping.
  virtual void OnServerStop() = 0;
  // IO thread: a Responder delivers the answer to request number `seq`.
  virtual void Deliver(uint64_t seq, HttpResponse&& response) = 0;
  // Controlling thread after the IO thread is joined: close the socket.
  virtual void Abort() = 0;
};

// What a Responder holds: the connection and the worker weakly (a late
// answer to a closed connection, or to a stopped server, is dropped). Not
// the worker strongly: a Responder parked in work pending on the worker's
// own io_context would then keep that context, and so itself, alive forever
// after the server stopped.
struct ResponderState {
  std::weak_ptr<ConnectionBase> connection;
  std::weak_ptr<IoWorker> worker_ref;
  uint64_t seq;
  std::atomic<bool> done{false};

  void Send(HttpResponse&& response) {
    if (done.exchange(true, std::memory_order_acq_rel)) return;
    std::shared_ptr<IoWorker> worker = worker_ref.lock();  // kept for the post
    if (!worker) return;
    if (worker->ioc.get_executor().running_in_this_thread()) {
      if (auto c = connection.lock()) c->Deliver(seq, std::move(response));
      return;
    }
    asio::post(worker->ioc, [c = connection, seq = seq, r = std::move(response)]() mutable {
      if (auto conn = c.lock()) conn->Deliver(seq, std::move(r));
    });
  }

  ~ResponderState() {
    if (!done.load(std::memory_order_acquire)) {
      Send(JsonError(500, "internal", "the handler dropped the request without responding"));
    }
  }
};

// A header name or value that could split the response (CR, LF) is dropped.
inline bool SafeHeaderText(std::string_view s) {
  return s.find_first_of("\r\n", 0, 2) == std::string_view::npos &&
         s.find('\0') == std::string_view::npos;
}

inline void AppendNumber(std::string& out, uint64_t n) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, end);
}

}  // namespace aether::http_internal
