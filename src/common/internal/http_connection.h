// Private to the HTTP server: one client connection (plain or TLS). Included
// only by http_server.cc; a header because Connection is a template over the
// stream type.
//
// Threading: a connection lives on its IoWorker's IO thread.
//
// A request's phases and their deadlines: header (header_timeout: from
// accept for the first request, from the first byte for later ones), body
// (body_timeout + bytes / min_body_rate), handler (unbounded here), write
// and keep-alive wait (idle_timeout each). Routing and the route's
// HeaderCheck run between header and body.
#pragma once

#include <algorithm>
#include <array>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "common/http_server.h"
#include "common/internal/http_router.h"
#include "common/internal/http_server_core.h"
#include "common/log.h"
#include "common/units.h"

namespace aether::http_internal {

// A peer that never sends its FIN after we shut down our side gets this
// long before the socket is closed under it.
constexpr auto kLingerTime = std::chrono::seconds(1);
// What one read between requests asks for.
constexpr size_t kReadSize = 16 * 1024;

template <typename Stream>
class Connection final : public ConnectionBase {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, Socket>;

  Connection(Stream&& stream, std::shared_ptr<ServerCore> core, IoWorker* worker,
             std::string remote, ConnectionLimiter::Slot slot)
      : stream_(std::move(stream)),
        core_(std::move(core)),
        worker_(worker),
        remote_(std::move(remote)),
        slot_(std::move(slot)),
        timer_(worker->ioc.get_executor()) {
    core_->live_connections.fetch_add(1, std::memory_order_relaxed);
    core_->metrics->open.Inc();
  }
  ~Connection() override {
    core_->metrics->open.Dec();
    core_->live_connections.fetch_sub(1, std::memory_order_relaxed);
  }

  void Start() override {
    // From accept, the TLS handshake and the first request's header share
    // header_timeout: a client that connects and stalls is a slow header.
    SetDeadline(Clock::now() + HeaderTimeout());
    NewRequest();
    if constexpr (kTls) {
      state_ = State::kHandshake;
      stream_.async_handshake(ssl::stream_base::server, [self = Self()](beast::error_code ec) {
        if (ec || self->closed_) return self->Close();
        self->ReadHeader();
      });
    } else {
      ReadHeader();
    }
  }

  void OnServerStop() override {
    keep_alive_ = false;
    bool idle = state_ == State::kHandshake || state_ == State::kIdle ||
                (state_ == State::kHeader && !parser_->got_some() && buffer_.size() == 0);
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
  // kIdle: kept alive, waiting for the next request's first byte.
  enum class State { kHandshake, kIdle, kHeader, kBody, kHandling, kWriting, kClosing };

  std::shared_ptr<Connection> Self() {
    return std::static_pointer_cast<Connection>(shared_from_this());
  }

  // One deadline per connection, moved by each phase. The timer is re-armed
  // lazily when it fires before the deadline, and never armed more than
  // header_timeout ahead, so the usual step (a later deadline, or the next
  // header's, at most header_timeout away) costs no timer operation. Only an
  // earlier deadline (a short body_timeout, lingering close) re-arms it.
  void SetDeadline(Clock::time_point deadline) {
    deadline_ = deadline;
    if (!timer_armed_ || deadline_ < timer_.expiry()) ArmTimer();
  }
  void Touch(Clock::duration d) { SetDeadline(Clock::now() + d); }
  void Touch() { Touch(IdleTimeout()); }
  template <typename D>
  static Clock::duration Ticks(D d) {
    return std::chrono::duration_cast<Clock::duration>(d);
  }
  Clock::duration IdleTimeout() const { return Ticks(core_->options.idle_timeout); }
  Clock::duration HeaderTimeout() const { return Ticks(core_->options.header_timeout); }
  // body_timeout, plus one second per min_body_rate bytes received.
  Clock::time_point BodyDeadline() const {
    double earned = static_cast<double>(body_received_) /
                    static_cast<double>(std::max<uint64_t>(core_->options.min_body_rate, 1));
    return body_start_ + Ticks(core_->options.body_timeout) +
           Ticks(std::chrono::duration<double>(earned));
  }

  void ArmTimer() {
    timer_armed_ = true;
    uint64_t generation = ++timer_generation_;
    // Cancels a pending wait, which is then superseded.
    timer_.expires_at(std::min(deadline_, Clock::now() + HeaderTimeout()));
    timer_.async_wait([self = Self(), generation](beast::error_code ec) {
      if (generation != self->timer_generation_) return;
      self->timer_armed_ = false;
      if (ec || self->closed_) return;
      // A handler bounds its own time; the connection just waits for it.
      if (self->state_ == State::kHandling) self->deadline_ = Clock::now() + self->IdleTimeout();
      if (Clock::now() < self->deadline_) return self->ArmTimer();
      self->OnDeadline();
    });
  }

  void OnDeadline() {
    if (timed_out_) return Close();  // the cancelled read never came back
    switch (state_) {
      case State::kHandshake:
        core_->metrics->header_timeouts.Inc();
        return Close();
      case State::kHeader:
        core_->metrics->header_timeouts.Inc();
        // Nothing of a request arrived: nobody to answer.
        if (buffer_.size() == 0 && !parser_->got_some()) return Close();
        return TimeOut();
      case State::kBody:
        core_->metrics->body_timeouts.Inc();
        return TimeOut();
      case State::kIdle:
      case State::kHandling:
      case State::kWriting:  // a client that does not read its response
      case State::kClosing:
        return Close();
    }
  }

  // Stops the read in progress; its handler sees timed_out_ and answers 408
  // (or, should it not come back within kLingerTime, the connection closes).
  void TimeOut() {
    timed_out_ = true;
    Touch(kLingerTime);
    beast::error_code ec;
    beast::get_lowest_layer(stream_).cancel(ec);
  }

  void NewRequest() {
    req_ = HttpRequest();
    parser_.emplace(req_, core_->options.max_body);
    route_ = nullptr;
  }

  // After a kept-alive response: idle_timeout until the next request's first
  // byte, then header_timeout for its header.
  void AwaitNextRequest() {
    NewRequest();
    if (buffer_.size() > 0) {  // pipelined: the next request has begun
      SetDeadline(Clock::now() + HeaderTimeout());
      return ParseBufferedHeader();
    }
    state_ = State::kIdle;
    Touch();
    stream_.async_read_some(buffer_.prepare(kReadSize),
                            [self = Self()](beast::error_code ec, size_t n) {
                              if (ec || self->closed_) return self->Close();
                              self->buffer_.commit(n);
                              self->SetDeadline(Clock::now() + self->HeaderTimeout());
                              self->ParseBufferedHeader();
                            });
  }

  // The usual keep-alive request arrives whole in one read: parse it here
  // rather than through async_read_header, which would post its completion
  // once more. Only a partial header goes on to read the rest.
  void ParseBufferedHeader() {
    state_ = State::kHeader;
    beast::error_code ec;
    buffer_.consume(parser_->put(buffer_.data(), ec));
    if (ec == http::error::need_more) return ReadHeader();
    OnHeader(ec);
  }

  void ReadHeader() {
    state_ = State::kHeader;
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = Self()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  // Routing and the route's HeaderCheck run here, on the header: a request
  // refused now never has its body read.
  void OnHeader(beast::error_code ec) {
    if (closed_) return;
    if (ec || timed_out_) return OnReadError(ec);
    req_.remote = remote_;
    keep_alive_ = parser_->keep_alive() && !worker_->stopping;
    last_version_ = req_.version;
    head_request_ = req_.method == "HEAD";
    if (!SplitTarget(req_)) {
      keep_alive_ = false;
      return Write(JsonError(400, "bad_request", "malformed request target"));
    }
    HttpResponse error;
    route_ = core_->router.Find(req_, &error);
    if (route_ == nullptr) return Refuse(std::move(error));
    if (route_->check) {
      std::optional<HttpResponse> refusal;
      try {
        refusal = route_->check(req_);
      } catch (const std::exception& e) {
        LOG_ERROR("HTTP header check threw: {}", e.what());
        refusal = JsonError(500, "internal", "internal error");
      }
      if (refusal) return Refuse(std::move(*refusal));
    }
    if (parser_->is_done()) return Dispatch();
    // A client that sent "Expect: 100-continue" waits for the go-ahead
    // before its body (curl otherwise stalls a second).
    if (req_.version == 11 && beast::iequals(FindHeader(req_.headers, "Expect"), "100-continue")) {
      return SendContinue();
    }
    BeginBody();
    // The body that came with the header (the usual small POST) is parsed
    // here rather than through async_read_some, which would post its
    // completion and cost two more rounds of the event loop per request.
    parser_->eager(true);
    while (buffer_.size() > 0 && !parser_->is_done()) {
      beast::error_code pec;
      size_t n = parser_->put(buffer_.data(), pec);
      buffer_.consume(n);
      body_received_ += n;
      if (pec == http::error::need_more || (!pec && n == 0)) break;
      if (pec) return OnReadError(pec);
    }
    if (parser_->is_done()) return Dispatch();
    ReadBodySome();
  }

  // An answer on the header alone. A body left unread cannot be skipped
  // safely, so the connection closes after the answer (GracefulClose drains
  // without keeping anything).
  void Refuse(HttpResponse&& response) {
    if (!parser_->is_done()) keep_alive_ = false;
    Write(std::move(response));
  }

  void SendContinue() {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    BeginBody();
    asio::async_write(stream_, asio::buffer(kContinue),
                      [self = Self()](beast::error_code ec, size_t) {
                        if (ec || self->closed_) return self->Close();
                        self->ReadBodySome();
                      });
  }

  void BeginBody() {
    state_ = State::kBody;
    body_start_ = Clock::now();
    body_received_ = 0;
    SetDeadline(BodyDeadline());
  }

  // Piece by piece, so that each piece can move the deadline (min_body_rate).
  void ReadBodySome() {
    http::async_read_some(stream_, buffer_, *parser_,
                          [self = Self()](beast::error_code ec, size_t n) {
                            if (self->closed_) return;
                            if (ec || self->timed_out_) return self->OnReadError(ec);
                            if (self->parser_->is_done()) return self->Dispatch();
                            self->body_received_ += n;
                            self->SetDeadline(self->BodyDeadline());
                            self->ReadBodySome();
                          });
  }

  void OnReadError(beast::error_code ec) {
    keep_alive_ = false;
    if (timed_out_) {
      bool header = state_ == State::kHeader;
      const HttpServerOptions& o = core_->options;
      return Write(JsonError(408, "request_timeout",
                             header ? "request header not received within " +
                                          FormatDuration(o.header_timeout) + " (header_timeout)"
                                    : "request body too slow: it must arrive within " +
                                          FormatDuration(o.body_timeout) + " plus one second per " +
                                          FormatSize(o.min_body_rate) +
                                          " (body_timeout, min_body_rate)"));
    }
    if (ec == http::error::body_limit) {
      return Write(
          JsonError(413, "payload_too_large",
                    "request body exceeds " + std::to_string(core_->options.max_body) + " bytes"));
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
    Close();
  }

  void Dispatch() {
    keep_alive_ = parser_->keep_alive() && !worker_->stopping;
    state_ = State::kHandling;
    uint64_t seq = ++seq_;
    auto state = std::make_shared<ResponderState>();
    state->connection = weak_from_this();
    state->worker_ref = worker_->weak_from_this();
    state->seq = seq;
    req_.io_context = &worker_->ioc;
    in_handler_ = true;
    try {
      route_->handler(std::move(req_),
                      [state = std::move(state)](HttpResponse r) { state->Send(std::move(r)); });
    } catch (const std::exception& e) {
      LOG_ERROR("HTTP handler threw: {}", e.what());
      Deliver(seq, JsonError(500, "internal", "internal error"));
    } catch (...) {
      LOG_ERROR("HTTP handler threw a non-standard exception");
      Deliver(seq, JsonError(500, "internal", "internal error"));
    }
    in_handler_ = false;
  }
  void Write(HttpResponse&& response) {
    // Literals as string_views: appended without a strlen each.
    using namespace std::string_view_literals;
    state_ = State::kWriting;
    response_ = std::move(response);
    bool close = !keep_alive_ || worker_->stopping;
    int status = response_.status;
    if (status < 200 || status > 999) status = 500;  // 1xx is not a final answer
    bool no_body = status == 204 || status == 304;

    head_.clear();
    head_ += "HTTP/1.1 "sv;
    AppendNumber(head_, status);
    head_ += ' ';
    beast::string_view reason = http::obsolete_reason(static_cast<http::status>(status));
    head_.append(reason.data(), reason.size());
    head_ += "\r\nServer: aether\r\n"sv;
    if (!response_.content_type.empty() && SafeHeaderText(response_.content_type)) {
      head_ += "Content-Type: "sv;
      head_ += response_.content_type;
      head_ += "\r\n"sv;
    }
    for (const auto& [k, v] : response_.headers) {
      if (EqualsIgnoreCase(k, "Content-Length") || EqualsIgnoreCase(k, "Connection") ||
          EqualsIgnoreCase(k, "Transfer-Encoding") || !SafeHeaderText(k) || !SafeHeaderText(v)) {
        continue;
      }
      head_ += k;
      head_ += ": "sv;
      head_ += v;
      head_ += "\r\n"sv;
    }
    if (!no_body) {
      head_ += "Content-Length: "sv;
      AppendNumber(head_, response_.body.size());
      head_ += "\r\n"sv;
    }
    if (close) {
      head_ += "Connection: close\r\n"sv;
    } else if (last_version_ == 10) {
      head_ += "Connection: keep-alive\r\n"sv;
    }
    head_ += "\r\n"sv;

    std::array<asio::const_buffer, 2> buffers = {
        asio::buffer(head_),
        asio::buffer(response_.body.data(), no_body || head_request_ ? 0 : response_.body.size())};
    head_request_ = false;
    Touch();
    auto written = [self = Self(), close](beast::error_code ec, size_t) {
      self->response_ = HttpResponse();
      if (ec || self->closed_) return self->Close();
      // Stop() may have come while this keep-alive response was on its way.
      if (close || self->worker_->stopping) return self->GracefulClose();
      self->AwaitNextRequest();
    };
    if constexpr (!kTls) {
      // An answer delivered after its handler returned (from a worker, or
      // an asynchronous handler's completion) usually fits the socket's
      // buffer: written here, the connection goes straight on to the next
      // request, where async_write would come back through the scheduler.
      // Not from inside the handler: it still holds the request, which the
      // next one would replace.
      if (!in_handler_) {
        beast::error_code ec;
        if (!stream_.non_blocking()) stream_.non_blocking(true, ec);  // once: a syscall
        size_t n = ec ? 0 : stream_.write_some(buffers, ec);
        if (ec != asio::error::would_block) {
          if (ec || n == asio::buffer_size(buffers)) return written(ec, n);
          if (n < buffers[0].size()) {
            buffers[0] += n;
          } else {
            buffers[1] += n - buffers[0].size();
            buffers[0] = asio::const_buffer();
          }
        }
      }
    }
    asio::async_write(stream_, buffers, std::move(written));
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
  ConnectionLimiter::Slot slot_;  // our place in the connection caps
  Timer timer_;
  Clock::time_point deadline_;
  bool timer_armed_ = false;
  uint64_t timer_generation_ = 0;
  bool closed_ = false;
  bool timed_out_ = false;   // the request's header or body came too slowly
  bool in_handler_ = false;  // Dispatch is running the route's handler
  bool keep_alive_ = true;
  bool head_request_ = false;
  int last_version_ = 11;
  State state_ = State::kHeader;
  uint64_t seq_ = 0;
  beast::flat_buffer buffer_;  // reused for every request of the connection
  HttpRequest req_;
  std::optional<RequestParser> parser_;
  const GuardedHandler* route_ = nullptr;  // the request's route, once its header is in
  Clock::time_point body_start_;
  uint64_t body_received_ = 0;
  HttpResponse response_;
  std::string head_;  // reused response head
};

}  // namespace aether::http_internal
