#include "common/http_server.h"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <atomic>
#include <charconv>
#include <optional>
#include <thread>
#include <unordered_map>

#include "common/json_util.h"
#include "common/log.h"

namespace aether {
namespace {

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

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string_view FindHeader(const HttpHeaders& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (EqualsIgnoreCase(k, name)) return v;
  }
  return {};
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool PercentDecode(std::string_view in, bool plus_is_space, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int hi = HexValue(in[i + 1]), lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return true;
}

// Fills path and query from target. False for a target we cannot route.
bool SplitTarget(HttpRequest& req) {
  std::string_view target = req.target;
  // Absolute form ("http://host/path") is legal for requests to a server.
  if (target.starts_with("http://") || target.starts_with("https://")) {
    size_t slash = target.find('/', target.find("//") + 2);
    target = slash == std::string_view::npos ? "/" : target.substr(slash);
  }
  if (target.empty() || target[0] != '/') return false;
  size_t q = target.find('?');
  std::string_view raw_path = target.substr(0, q);
  if (raw_path.find('%') == std::string_view::npos) {
    req.path.assign(raw_path);
  } else if (!PercentDecode(raw_path, false, req.path)) {
    return false;
  }
  if (q == std::string_view::npos) return true;
  std::string_view query = target.substr(q + 1);
  std::string key, value;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    if (!PercentDecode(pair.substr(0, eq), true, key)) return false;
    if (!PercentDecode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true, value)) {
      return false;
    }
    req.query.insert_or_assign(key, value);
  }
  return true;
}

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

struct PathEntry {
  std::vector<std::pair<std::string, Handler>> methods;
};

class Router {
 public:
  void Add(std::string_view method, std::string_view path, bool prefix, Handler handler) {
    PathEntry* entry = nullptr;
    if (!prefix) {
      entry = &exact_[std::string(path)];
    } else {
      for (auto& [p, e] : prefixes_) {
        if (p == path) entry = &e;
      }
      if (entry == nullptr) {
        prefixes_.emplace_back(std::string(path), PathEntry{});
        entry = &prefixes_.back().second;
      }
    }
    for (auto& [m, h] : entry->methods) {
      if (m == method) {
        h = std::move(handler);
        return;
      }
    }
    entry->methods.emplace_back(std::string(method), std::move(handler));
    // Longest prefix first, so the first match is the most specific one.
    std::stable_sort(prefixes_.begin(), prefixes_.end(),
                     [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  }

  // The handler, or nullptr with the 404/405 response in *error.
  const Handler* Find(const HttpRequest& req, HttpResponse* error) const {
    const PathEntry* entry = nullptr;
    if (auto it = exact_.find(req.path); it != exact_.end()) {
      entry = &it->second;
    } else {
      for (const auto& [p, e] : prefixes_) {
        if (req.path.starts_with(p)) {
          entry = &e;
          break;
        }
      }
    }
    if (entry == nullptr) {
      *error = JsonError(404, "not_found", "no route for " + req.path.substr(0, 256));
      return nullptr;
    }
    const Handler* get = nullptr;
    std::string allow;
    for (const auto& [m, h] : entry->methods) {
      if (m == req.method) return &h;
      if (m == "GET") get = &h;
      if (!allow.empty()) allow += ", ";
      allow += m;
    }
    if (get != nullptr && req.method == "HEAD") return get;
    *error = JsonError(405, "method_not_allowed",
                       "method " + req.method.substr(0, 32) + " is not allowed for " +
                           req.path.substr(0, 256) + " (allowed: " + allow + ")");
    error->headers.emplace_back("Allow", std::move(allow));
    return nullptr;
  }

 private:
  std::unordered_map<std::string, PathEntry> exact_;
  std::vector<std::pair<std::string, PathEntry>> prefixes_;
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
bool SafeHeaderText(std::string_view s) {
  return s.find_first_of("\r\n", 0, 2) == std::string_view::npos &&
         s.find('\0') == std::string_view::npos;
}

void AppendNumber(std::string& out, uint64_t n) {
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

std::string FormatEndpoint(const std::string& host, uint16_t port) {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

}  // namespace

std::string_view HttpRequest::Header(std::string_view name) const {
  return FindHeader(headers, name);
}

bool HttpRequest::HasHeader(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (EqualsIgnoreCase(k, name)) return true;
  }
  return false;
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
    case Code::kInvalidArgument: http_status = 400; break;
    case Code::kUnauthenticated: http_status = 401; break;
    case Code::kPermissionDenied: http_status = 403; break;
    case Code::kNotFound: http_status = 404; break;
    case Code::kAlreadyExists:
    case Code::kFailedPrecondition: http_status = 409; break;
    case Code::kResourceExhausted: http_status = 429; break;
    case Code::kUnavailable: http_status = 503; break;
    case Code::kDeadlineExceeded: http_status = 504; break;
    case Code::kOk:
    case Code::kInternal: http_status = 500; break;
  }
  return JsonError(http_status, CodeName(status.code()), status.message());
}

HttpResponse JsonOk(const boost::json::value& v) {
  HttpResponse r;
  r.body = boost::json::serialize(v);
  return r;
}

HttpServerOptions HttpServerOptions::FromConfig(const ServerConfig& config,
                                                uint16_t default_port) {
  HttpServerOptions o;
  o.host = config.host;
  o.port = config.port != 0 ? config.port : default_port;
  o.max_body = config.max_body;
  o.idle_timeout = config.idle_timeout;
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
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    asio::post(target->ioc, [core = core, target, s = std::move(socket)]() mutable {
      if (target->stopping) return;
      beast::error_code e;
      tcp::endpoint peer = s.remote_endpoint(e);
      std::string remote = e ? "" : FormatEndpoint(peer.address().to_string(), peer.port());
      std::shared_ptr<ConnectionBase> c;
      if (core->tls) {
        c = std::make_shared<Connection<ssl::stream<Socket>>>(
            ssl::stream<Socket>(std::move(s), *core->tls), core, target, std::move(remote));
      } else {
        c = std::make_shared<Connection<Socket>>(std::move(s), core, target, std::move(remote));
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
  CHECK(!impl_->started);
  impl_->core->router.Add(method, path, false, std::move(handler));
}

void HttpServer::RoutePrefix(std::string_view method, std::string_view prefix, Handler handler) {
  CHECK(!impl_->started);
  impl_->core->router.Add(method, prefix, true, std::move(handler));
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
  for (size_t i = 0; i < opt.io_threads; ++i) d.workers.push_back(std::make_shared<IoWorker>());
  if (Status st = d.Listen(); !st.ok()) {
    d.acceptor.reset();
    d.workers.clear();
    return st;
  }
  d.accept_retry.emplace(d.workers[0]->ioc);
  d.Accept();
  for (auto& w : d.workers) {
    w->thread = std::thread([w = w.get()] {
      auto guard = asio::make_work_guard(w->ioc);
      w->ioc.run();
    });
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
  for (auto& w : d.workers) w->thread.join();
  // The threads are gone: what is left may be touched from here.
  d.acceptor.reset();
  d.accept_retry.reset();
  for (auto& w : d.workers) {
    for (auto& [ptr, c] : w->connections) c->Abort();
    w->connections.clear();
  }
  // A Responder still held by a handler keeps its worker (not its
  // connection) alive; the late answer then goes nowhere.
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
