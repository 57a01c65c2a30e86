// Private to the HTTP server: one client connection (plain or TLS) and the
// state it shares with the server. Included only by http_server.cc; a
// header because Connection is a template over the stream type.
//
// Threading: a connection and its IoWorker's fields live on that worker's
// IO thread; ServerCore is immutable after Start() except its atomics;
// ResponderState::Send may be called from any thread.
#pragma once

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <unordered_map>

#include "common/http_server.h"
#include "common/internal/http_router.h"
#include "common/log.h"

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

// A peer that never sends its FIN after we shut down our side gets this
// long before the socket is closed under it.
constexpr auto kLingerTime = std::chrono::seconds(1);

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

// State shared by the acceptor, all connections and the controlling
// thread; immutable after Start() except the atomics.
struct ServerCore {
  HttpServerOptions options;
  Router router;
  std::optional<ssl::context> tls;
  std::atomic<int> live_connections{0};
};

class ConnectionBase;

// One IO thread with its io_context and the connections it owns. Fields
// other than `ioc` are touched only on that thread (or after it is joined).
struct IoWorker : std::enable_shared_from_this<IoWorker> {
  asio::io_context ioc{1};  // hint: one thread runs it
  std::unordered_map<ConnectionBase*, std::shared_ptr<ConnectionBase>> connections;
  bool stopping = false;
  std::thread thread;
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

// What a Responder holds: the connection weakly (a late answer to a closed
// connection is dropped) and the worker strongly (its io_context must exist
// for the post).
struct ResponderState {
  std::weak_ptr<ConnectionBase> connection;
  std::shared_ptr<IoWorker> worker;
  uint64_t seq;
  std::atomic<bool> done{false};

  void Send(HttpResponse&& response) {
    if (done.exchange(true, std::memory_order_acq_rel)) return;
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

template <typename Stream>
class Connection final : public ConnectionBase {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, Socket>;

  Connection(Stream&& stream, std::shared_ptr<ServerCore> core, IoWorker* worker,
             std::string remote)
      : stream_(std::move(stream)),
        core_(std::move(core)),
        worker_(worker),
        remote_(std::move(remote)),
        timer_(worker->ioc.get_executor()) {
    core_->live_connections.fetch_add(1, std::memory_order_relaxed);
  }
  ~Connection() override { core_->live_connections.fetch_sub(1, std::memory_order_relaxed); }

  void Start() override {
    Touch();
    if constexpr (kTls) {
      state_ = State::kHandshake;
      stream_.async_handshake(ssl::stream_base::server, [self = Self()](beast::error_code ec) {
        if (ec) return self->Close();
        self->ReadRequest();
      });
    } else {
      ReadRequest();
    }
  }

  void OnServerStop() override {
    keep_alive_ = false;
    bool idle = state_ == State::kHandshake ||
                (state_ == State::kReading && parser_ && !parser_->got_some() &&
                 buffer_.size() == 0);
    if (idle) Close();
  }

  void Deliver(uint64_t seq, HttpResponse&& response) override {
    if (closed_ || state_ != State::kHandling || seq != seq_) return;
    Write(std::move(response));
  }

  void Abort() override {
    closed_ = true;
    beast::error_code ec;
    beast::get_lowest_layer(stream_).close(ec);
    timer_.cancel();
  }

 private:
  enum class State { kHandshake, kReading, kHandling, kWriting, kClosing };

  std::shared_ptr<Connection> Self() {
    return std::static_pointer_cast<Connection>(shared_from_this());
  }

  // The deadline moves with every step; the timer is re-armed lazily when
  // it fires early, so a busy connection costs no timer operations. Only a
  // deadline earlier than the armed expiry (lingering close) re-arms it.
  void Touch(Clock::duration d) {
    deadline_ = Clock::now() + d;
    if (!timer_armed_ || deadline_ < timer_.expiry()) ArmTimer();
  }
  void Touch() { Touch(IdleTimeout()); }
  Clock::duration IdleTimeout() const {
    return std::chrono::duration_cast<Clock::duration>(core_->options.idle_timeout);
  }

  void ArmTimer() {
    timer_armed_ = true;
    uint64_t generation = ++timer_generation_;
    timer_.expires_at(deadline_);  // cancels a pending wait, which is then superseded
    timer_.async_wait([self = Self(), generation](beast::error_code ec) {
      if (generation != self->timer_generation_) return;
      self->timer_armed_ = false;
      if (ec || self->closed_) return;
      // A handler bounds its own time; the connection just waits for it.
      if (self->state_ == State::kHandling) self->deadline_ = Clock::now() + self->IdleTimeout();
      if (Clock::now() < self->deadline_) return self->ArmTimer();
      self->Close();
    });
  }

  void ReadRequest() {
    state_ = State::kReading;
    req_ = HttpRequest();
    parser_.emplace(req_, core_->options.max_body);
    Touch();
    // Header first, so a client that sent "Expect: 100-continue" gets its
    // go-ahead (curl otherwise stalls a second before sending the body) and
    // an oversized Content-Length is refused before any body is sent.
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = Self()](beast::error_code ec, size_t) {
                              if (ec || self->parser_->is_done()) return self->OnRead(ec);
                              if (self->req_.version == 11 &&
                                  beast::iequals(FindHeader(self->req_.headers, "Expect"),
                                                 "100-continue")) {
                                return self->SendContinue();
                              }
                              self->ReadBody();
                            });
  }

  void SendContinue() {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    asio::async_write(stream_, asio::buffer(kContinue),
                      [self = Self()](beast::error_code ec, size_t) {
                        if (ec || self->closed_) return self->Close();
                        self->ReadBody();
                      });
  }

  void ReadBody() {
    Touch();
    http::async_read(stream_, buffer_, *parser_,
                     [self = Self()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (closed_) return;
    if (ec) {
      keep_alive_ = false;
      if (ec == http::error::body_limit) {
        return Write(JsonError(413, "payload_too_large",
                               "request body exceeds " +
                                   std::to_string(core_->options.max_body) + " bytes"));
      }
      if (ec == http::error::header_limit) {
        return Write(JsonError(431, "header_too_large", "request header too large"));
      }
      // A peer that closes between (or in the middle of) requests gets
      // nothing; a syntax error gets a 400.
      if (ec.category() == http::make_error_code(http::error::bad_target).category() &&
          ec != http::error::end_of_stream && ec != http::error::partial_message) {
        return Write(JsonError(400, "bad_request", "malformed HTTP request: " + ec.message()));
      }
      return Close();
    }
    keep_alive_ = parser_->keep_alive() && !worker_->stopping;
    last_version_ = req_.version;
    if (!SplitTarget(req_)) {
      keep_alive_ = false;
      return Write(JsonError(400, "bad_request", "malformed request target"));
    }
    req_.remote = remote_;
    HttpResponse error;
    const Handler* handler = core_->router.Find(req_, &error);
    if (handler == nullptr) return Write(std::move(error));

    state_ = State::kHandling;
    head_request_ = req_.method == "HEAD";
    uint64_t seq = ++seq_;
    auto state = std::make_shared<ResponderState>();
    state->connection = weak_from_this();
    state->worker = worker_->shared_from_this();
    state->seq = seq;
    try {
      (*handler)(std::move(req_),
                 [state = std::move(state)](HttpResponse r) { state->Send(std::move(r)); });
    } catch (const std::exception& e) {
      LOG_ERROR("HTTP handler threw: {}", e.what());
      Deliver(seq, JsonError(500, "internal", "internal error"));
    } catch (...) {
      LOG_ERROR("HTTP handler threw a non-standard exception");
      Deliver(seq, JsonError(500, "internal", "internal error"));
    }
  }

  void Write(HttpResponse&& response) {
    state_ = State::kWriting;
    response_ = std::move(response);
    bool close = !keep_alive_ || worker_->stopping;
    int status = response_.status;
    if (status < 200 || status > 999) status = 500;  // 1xx is not a final answer
    bool no_body = status == 204 || status == 304;

    head_.clear();
    head_ += "HTTP/1.1 ";
    AppendNumber(head_, status);
    head_ += ' ';
    beast::string_view reason = http::obsolete_reason(static_cast<http::status>(status));
    head_.append(reason.data(), reason.size());
    head_ += "\r\nServer: aether\r\n";
    if (!response_.content_type.empty() && SafeHeaderText(response_.content_type)) {
      head_ += "Content-Type: ";
      head_ += response_.content_type;
      head_ += "\r\n";
    }
    for (const auto& [k, v] : response_.headers) {
      if (EqualsIgnoreCase(k, "Content-Length") || EqualsIgnoreCase(k, "Connection") ||
          EqualsIgnoreCase(k, "Transfer-Encoding") || !SafeHeaderText(k) || !SafeHeaderText(v)) {
        continue;
      }
      head_ += k;
      head_ += ": ";
      head_ += v;
      head_ += "\r\n";
    }
    if (!no_body) {
      head_ += "Content-Length: ";
      AppendNumber(head_, response_.body.size());
      head_ += "\r\n";
    }
    if (close) {
      head_ += "Connection: close\r\n";
    } else if (last_version_ == 10) {
      head_ += "Connection: keep-alive\r\n";
    }
    head_ += "\r\n";

    std::array<asio::const_buffer, 2> buffers = {
        asio::buffer(head_),
        asio::buffer(response_.body.data(), no_body || head_request_ ? 0 : response_.body.size())};
    head_request_ = false;
    Touch();
    asio::async_write(stream_, buffers, [self = Self(), close](beast::error_code ec, size_t) {
      self->response_ = HttpResponse();
      if (ec || self->closed_) return self->Close();
      // Stop() may have come while this keep-alive response was on its way.
      if (close || self->worker_->stopping) return self->GracefulClose();
      self->ReadRequest();
    });
  }

  // Half-close, then drain what the peer still sends until it closes:
  // closing with unread input would make the kernel send RST, which can
  // destroy the response before the client reads it (the 413 case).
  void GracefulClose() {
    state_ = State::kClosing;
    Touch(kLingerTime);
    if constexpr (kTls) {
      stream_.async_shutdown([self = Self()](beast::error_code) { self->Close(); });
    } else {
      beast::error_code ec;
      stream_.shutdown(Socket::shutdown_send, ec);
      if (ec) return Close();
      Drain();
    }
  }

  void Drain() {
    if constexpr (!kTls) {
      buffer_.clear();
      stream_.async_read_some(buffer_.prepare(64 * 1024),
                              [self = Self()](beast::error_code ec, size_t) {
                                if (ec || self->closed_) return self->Close();
                                self->Drain();
                              });
    }
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    state_ = State::kClosing;
    beast::error_code ec;
    beast::get_lowest_layer(stream_).close(ec);
    timer_.cancel();
    // May drop the last owner but one: every caller holds a reference.
    worker_->connections.erase(this);
  }

  Stream stream_;
  std::shared_ptr<ServerCore> core_;
  IoWorker* worker_;  // outlives this: owns the io_context we run on
  std::string remote_;
  Timer timer_;
  Clock::time_point deadline_;
  bool timer_armed_ = false;
  uint64_t timer_generation_ = 0;
  bool closed_ = false;
  bool keep_alive_ = true;
  bool head_request_ = false;
  int last_version_ = 11;
  State state_ = State::kReading;
  uint64_t seq_ = 0;
  beast::flat_buffer buffer_;  // reused for every request of the connection
  HttpRequest req_;
  std::optional<RequestParser> parser_;
  HttpResponse response_;
  std::string head_;  // reused response head
};

}  // namespace aether::http_internal
