// The asynchronous HTTP client (common/async_http_client.h).
//
// An exchange lives on its origin IO context from start to end: its
// connection's socket and timer and every completion run on that context's
// thread, so an exchange needs no lock of its own. What contexts share —
// the pools, the waiters, the count of exchanges in flight — is under mu_.
// A kept connection stays on the context that made it; when the host's
// connections are all open and a waiter is on another context, a freed
// connection is closed and the waiter connects anew on its own (rare: it
// takes a pool at its bound and load uneven between IO threads).
#include "common/async_http_client.h"

#include <array>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "common/internal/client_shared.h"
#include "common/internal/response_parser.h"

namespace aether {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
using http_internal::ResponseParser;
using http_internal::Url;
// Concrete executor types: the default any_io_executor costs a type-erased
// copy per operation.
using Executor = asio::io_context::executor_type;
using Socket = asio::basic_stream_socket<tcp, Executor>;
using DeadlineTimer =
    asio::basic_waitable_timer<SteadyClock, asio::wait_traits<SteadyClock>, Executor>;
using Resolver = asio::ip::basic_resolver<tcp, Executor>;
using TlsStream = ssl::stream<Socket>;

struct Exchange;

// One connection, made on `io` and only ever used there. Its timer keeps
// the deadline of the exchange it carries; re-armed lazily (see ArmTimer),
// it costs no timer operation per request in the usual case.
struct Conn {
  explicit Conn(asio::io_context& context)
      : io(context), socket(context.get_executor()), timer(context.get_executor()) {}

  Socket& lowest() { return tls ? tls->next_layer() : socket; }

  asio::io_context& io;
  Socket socket;                 // http://; moved into `tls` for https://
  std::optional<TlsStream> tls;  // https://
  beast::flat_buffer buffer;
  DeadlineTimer timer;
  bool timer_armed = false;
  Exchange* exchange = nullptr;  // the one it carries; it owns this connection meanwhile
  bool used = false;             // has carried an exchange: a failure may be a stale keep-alive
};
using ConnPtr = std::shared_ptr<Conn>;

// One request, from Send to its callback. Fields are touched on the origin
// context's thread only, but for `waiting` (under Client::mu_).
struct Exchange {
  AsyncHttpRequest req;
  AsyncHttpCallback done;
  std::shared_ptr<const Url> url;
  asio::io_context* origin = nullptr;
  SteadyClock::time_point deadline;
  std::string head;                         // request line and header fields
  ConnPtr conn;                             // while connecting and exchanging
  std::optional<DeadlineTimer> wait_timer;  // while waiting for a connection
  std::optional<Resolver> resolver;
  HttpResponse response;
  std::optional<ResponseParser> parser;
  beast::error_code write_ec;
  bool timed_out = false;
  bool retried = false;  // a second connection after a stale kept one
  bool finished = false;
  bool waiting = false;    // in its Host's queue for a connection
  bool cancelled = false;  // Stop closed its connection (abort_on_stop)
};
using ExchangePtr = std::shared_ptr<Exchange>;

// What is known of one scheme://host:port.
struct Host {
  size_t open = 0;  // connections connecting, busy or idle: at most max_connections_per_host
  std::vector<ConnPtr> idle;
  std::deque<ExchangePtr> waiting;  // for a connection, first come first served
};

// Parsed URLs kept for the next request to the same one (the gateway sends
// to a handful of engine URLs); forgotten all at once past this many.
constexpr size_t kMaxCachedUrls = 1024;

bool SafeValue(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) == s.npos;
}

Status CheckRequest(const AsyncHttpRequest& req) {
  if (!IsHttpToken(req.method))
    return InvalidArgument("invalid HTTP method \"" + req.method + "\"");
  for (const auto& [k, v] : req.headers) {
    if (!IsHttpToken(k) || !SafeValue(v)) {
      return InvalidArgument("invalid HTTP header \"" + k + "\" for " + req.url);
    }
  }
  return OkStatus();
}

// The request line and header fields, ready to be written before the body.
std::string Head(const AsyncHttpRequest& req, const Url& url) {
  using namespace std::string_view_literals;  // appended without a strlen each
  std::string head;
  head.reserve(96 + url.target.size() + url.authority.size());
  head.append(req.method).append(" "sv).append(url.target).append(" HTTP/1.1\r\n"sv);
  bool host = false, agent = false, type = false;
  for (const auto& [k, v] : req.headers) {
    if (beast::iequals(k, "Content-Length") || beast::iequals(k, "Transfer-Encoding")) continue;
    host |= beast::iequals(k, "Host");
    agent |= beast::iequals(k, "User-Agent");
    type |= beast::iequals(k, "Content-Type");
    head.append(k).append(": "sv).append(v).append("\r\n"sv);
  }
  if (!host) head.append("Host: "sv).append(url.authority).append("\r\n"sv);
  if (!agent) head.append("User-Agent: aether\r\n"sv);
  if (!req.body.empty() && !type) head.append("Content-Type: application/json\r\n"sv);
  if (!req.body.empty() || (req.method != "GET" && req.method != "HEAD")) {
    head.append("Content-Length: "sv).append(std::to_string(req.body.size())).append("\r\n"sv);
  }
  head.append("\r\n"sv);
  return head;
}

class Client final : public AsyncHttpClient {
 public:
  explicit Client(AsyncHttpClientOptions options)
      : options_(std::move(options)), work_(own_.get_executor()) {
    if (options_.max_connections_per_host == 0) options_.max_connections_per_host = 1;
    thread_ = std::thread([this] { own_.run(); });
  }
  // Stop() throws only if joining the client's own thread fails
  // (std::system_error): a bug to die of.
  ~Client() override { Stop(); }  // NOLINT(bugprone-exception-escape)

  void Send(AsyncHttpRequest request, AsyncHttpCallback done, asio::io_context* io) override;
  void Stop() override;

 private:
  Result<std::shared_ptr<const Url>> ParsedUrl(const std::string& url);
  void Acquire(const ExchangePtr& ex);
  ConnPtr TakeIdle(Host& host, asio::io_context& io);
  void OnWaitTimeout(const ExchangePtr& ex);
  void Connect(const ExchangePtr& ex);
  void OnConnected(const ExchangePtr& ex, const beast::error_code& ec);
  void Write(const ExchangePtr& ex);
  void Read(const ExchangePtr& ex);
  void ParseBuffered(const ExchangePtr& ex);
  void OnRead(const ExchangePtr& ex, const beast::error_code& ec);
  void Release(const std::string& key, ConnPtr conn, bool keep);
  void Abandon(const ExchangePtr& ex, Status status);
  void Finish(const ExchangePtr& ex, Result<HttpResponse> result);
  Result<ssl::context*> TlsContext();

  static void Carry(const ConnPtr& conn, Exchange& ex);
  static void ArmTimer(const ConnPtr& conn, SteadyClock::time_point at);
  static void OnDeadline(Exchange& ex);
  static void Cut(Exchange& ex);
  static Status Cancelled(const Exchange& ex) {
    return Unavailable("HTTP " + ex.req.method + " " + ex.req.url + " cancelled");
  }
  static Status TimedOut(const Exchange& ex, std::string_view waiting_for = {}) {
    return DeadlineExceeded("HTTP " + ex.req.method + " " + ex.req.url + " timed out after " +
                            std::to_string(ex.req.timeout.count()) + " ms" +
                            std::string(waiting_for));
  }

  AsyncHttpClientOptions options_;
  // First: destroyed last, after every socket and timer made on it.
  asio::io_context own_{1};
  asio::executor_work_guard<Executor> work_;
  std::thread thread_;
  std::mutex tls_mu_;
  std::unique_ptr<ssl::context> tls_;  // made at the first https request
  std::mutex urls_mu_;
  std::map<std::string, std::shared_ptr<const Url>, std::less<>> urls_;
  std::mutex mu_;
  std::condition_variable drained_;  // inflight_ fell to 0
  bool stopping_ = false;
  size_t inflight_ = 0;  // exchanges whose callback has not returned yet
  // With abort_on_stop: the exchanges in flight, for Stop to cut.
  std::map<const Exchange*, std::weak_ptr<Exchange>> active_;
  std::map<std::string, Host, std::less<>> hosts_;
};

void Client::Send(AsyncHttpRequest request, AsyncHttpCallback done, asio::io_context* io) {
  Result<std::shared_ptr<const Url>> url = ParsedUrl(request.url);
  if (!url.ok()) return done(url.status());
  if (Status st = CheckRequest(request); !st.ok()) return done(std::move(st));
  auto ex = std::make_shared<Exchange>();
  ex->origin = io != nullptr ? io : &own_;
  ex->deadline = SteadyClock::now() + request.timeout;
  ex->head = Head(request, **url);
  ex->url = std::move(*url);
  ex->req = std::move(request);
  ex->done = std::move(done);
  bool refused;
  {
    std::lock_guard lock(mu_);
    refused = stopping_;
    if (!refused) {
      ++inflight_;  // Stop waits for it from here on
      if (options_.abort_on_stop) active_.emplace(ex.get(), ex);
    }
  }
  if (refused) return ex->done(Cancelled(*ex));
  asio::dispatch(*ex->origin, [this, ex] { Acquire(ex); });
}

Result<std::shared_ptr<const Url>> Client::ParsedUrl(const std::string& url) {
  {
    std::lock_guard lock(urls_mu_);
    if (auto it = urls_.find(url); it != urls_.end()) return it->second;
  }
  ASSIGN_OR_RETURN(Url parsed, http_internal::ParseUrl(url));
  auto shared = std::make_shared<const Url>(std::move(parsed));
  std::lock_guard lock(urls_mu_);
  if (urls_.size() >= kMaxCachedUrls) urls_.clear();
  urls_.emplace(url, shared);
  return shared;
}

// On the origin context: a kept connection, a new one, or a place in the
// queue (whose wait counts in the deadline).
void Client::Acquire(const ExchangePtr& ex) {
  std::unique_lock lock(mu_);
  if (stopping_) {
    lock.unlock();
    return Finish(ex, Cancelled(*ex));
  }
  const std::string& key = ex->url->key;
  auto it = hosts_.find(key);
  if (it == hosts_.end()) it = hosts_.emplace(key, Host{}).first;
  Host& host = it->second;
  if (ConnPtr conn = TakeIdle(host, *ex->origin)) {
    lock.unlock();
    Carry(conn, *ex);
    return Write(ex);
  }
  if (host.open < options_.max_connections_per_host) {
    ++host.open;
    lock.unlock();
    return Connect(ex);
  }
  // Armed before anyone can take the waiter out of the queue (and cancel
  // the timer, on this context).
  ex->wait_timer.emplace(ex->origin->get_executor());
  ex->wait_timer->expires_at(ex->deadline);
  ex->wait_timer->async_wait([this, ex](const beast::error_code& ec) {
    // A finished exchange no longer counts in flight: `this` may be gone.
    if (ec || ex->finished) return;
    OnWaitTimeout(ex);
  });
  ex->waiting = true;
  host.waiting.push_back(ex);
}

// A kept connection made on `io`. Another context's idle one is closed
// when all are open, so that the caller may open one of its own.
ConnPtr Client::TakeIdle(Host& host, asio::io_context& io) {
  for (size_t i = host.idle.size(); i-- > 0;) {
    if (&host.idle[i]->io == &io) {
      ConnPtr conn = std::move(host.idle[i]);
      host.idle.erase(host.idle.begin() + static_cast<ptrdiff_t>(i));
      return conn;
    }
  }
  if (host.open >= options_.max_connections_per_host && !host.idle.empty()) {
    // Closed on its own context; its slot is the caller's.
    ConnPtr other = std::move(host.idle.front());
    host.idle.erase(host.idle.begin());
    asio::io_context& home = other->io;
    asio::post(home, [c = std::move(other)] {});
    --host.open;
  }
  return nullptr;
}

// The deadline passed while waiting for a connection.
void Client::OnWaitTimeout(const ExchangePtr& ex) {
  ex->timed_out = true;
  {
    std::lock_guard lock(mu_);
    if (!ex->waiting) return;  // handed a slot meanwhile: it sees timed_out
    std::erase(hosts_.find(ex->url->key)->second.waiting, ex);
    ex->waiting = false;
  }
  Finish(ex, TimedOut(*ex, " waiting for a connection to " + ex->url->Where()));
}

// `conn` now carries `ex`, whose deadline its timer keeps.
void Client::Carry(const ConnPtr& conn, Exchange& ex) {
  conn->exchange = &ex;
  ex.conn = conn;
  if (!conn->timer_armed || conn->timer.expiry() > ex.deadline) ArmTimer(conn, ex.deadline);
}

// Lazily: when the timer fires before the deadline of the exchange then
// carried (deadlines move forward with each request), it is armed again
// for that one; an idle connection's timer just stops.
void Client::ArmTimer(const ConnPtr& conn, SteadyClock::time_point at) {
  conn->timer_armed = true;
  conn->timer.expires_at(at);  // cancels the wait it replaces
  conn->timer.async_wait([weak = std::weak_ptr<Conn>(conn)](const beast::error_code& ec) {
    ConnPtr c = weak.lock();
    if (ec || !c) return;  // replaced, or the connection is gone
    c->timer_armed = false;
    if (c->exchange == nullptr) return;
    if (SteadyClock::now() < c->exchange->deadline) return ArmTimer(c, c->exchange->deadline);
    OnDeadline(*c->exchange);
  });
}

// The socket is closed: the pending operation ends, and sees timed_out.
void Client::OnDeadline(Exchange& ex) {
  ex.timed_out = true;
  Cut(ex);
}

void Client::Cut(Exchange& ex) {
  beast::error_code ignored;
  if (ex.conn) ex.conn->lowest().close(ignored);
  if (ex.resolver) ex.resolver->cancel();
}

// On the origin context, holding one of the host's slots.
void Client::Connect(const ExchangePtr& ex) {
  if (ex->timed_out) return Abandon(ex, TimedOut(*ex));
  Carry(std::make_shared<Conn>(*ex->origin), *ex);
  const Url& url = *ex->url;
  beast::error_code ec;
  asio::ip::address address = asio::ip::make_address(url.host, ec);
  uint16_t port = 0;
  auto [end, perr] = std::from_chars(url.port.data(), url.port.data() + url.port.size(), port);
  if (!ec && perr == std::errc() && end == url.port.data() + url.port.size()) {
    std::array<tcp::endpoint, 1> endpoints{tcp::endpoint(address, port)};
    asio::async_connect(
        ex->conn->socket, endpoints,
        [this, ex](const beast::error_code& e, const tcp::endpoint&) { OnConnected(ex, e); });
    return;
  }
  ex->resolver.emplace(ex->origin->get_executor());
  ex->resolver->async_resolve(
      url.host, url.port,
      [this, ex](const beast::error_code& e, const tcp::resolver::results_type& results) {
        ex->resolver.reset();
        if (e || ex->timed_out) {
          return Abandon(ex, Unavailable("cannot resolve " + ex->url->host + ": " +
                                         (ex->timed_out ? "timed out" : e.message())));
        }
        asio::async_connect(
            ex->conn->socket, results,
            [this, ex](const beast::error_code& e2, const tcp::endpoint&) { OnConnected(ex, e2); });
      });
}

void Client::OnConnected(const ExchangePtr& ex, const beast::error_code& ec) {
  const Url& url = *ex->url;
  if (ex->timed_out || ec) {
    // As the blocking client says it: nothing was sent, so a caller may
    // try elsewhere.
    beast::error_code why = ex->timed_out ? asio::error::timed_out : ec;
    return Abandon(ex, Unavailable("cannot connect to " + url.Where() + ": " + why.message()));
  }
  Conn& conn = *ex->conn;
  beast::error_code ignored;
  conn.socket.set_option(tcp::no_delay(true), ignored);
  if (!url.https) {
    conn.socket.non_blocking(true, ignored);  // for Write's first attempt
    return Write(ex);
  }
  Result<ssl::context*> tls = TlsContext();
  if (!tls.ok()) return Abandon(ex, tls.status());
  conn.tls.emplace(std::move(conn.socket), **tls);
  Status setup = SetUpClientTls(*conn.tls, url.host, options_.insecure_skip_verify);
  if (!setup.ok()) return Abandon(ex, std::move(setup));
  conn.tls->async_handshake(ssl::stream_base::client, [this, ex](const beast::error_code& e) {
    if (ex->timed_out) {
      return Abandon(ex, DeadlineExceeded("TLS handshake with " + ex->url->Where() + " timed out"));
    }
    if (e) {
      std::string why = DescribeTlsFailure(e, ex->conn->tls->native_handle());
      return Abandon(ex, Unavailable("TLS handshake with " + ex->url->Where() + " failed: " + why));
    }
    Write(ex);
  });
}

void Client::Write(const ExchangePtr& ex) {
  Conn& conn = *ex->conn;
  std::array<asio::const_buffer, 2> buffers{asio::buffer(ex->head),
                                            asio::buffer(ex->req.body.data(), ex->req.body.size())};
  if (!conn.tls) {
    // A request fits the socket's buffer as a rule: written here, it goes
    // straight on to the read, where async_write would come back through
    // the scheduler (one more round of the event loop per request).
    beast::error_code ec;
    size_t n = conn.socket.write_some(buffers, ec);
    if (ec != asio::error::would_block) {
      if (ec || n == asio::buffer_size(buffers)) {
        ex->write_ec = ec;
        return Read(ex);
      }
      // Partly written: the rest below.
      if (n < ex->head.size()) {
        buffers[0] += n;
      } else {
        buffers[1] += n - ex->head.size();
        buffers[0] = asio::const_buffer();
      }
    }
  }
  auto on_write = [this, ex](const beast::error_code& ec, size_t) {
    ex->write_ec = ec;
    // Even when the write failed the server may have answered first (a
    // 413 for a body it would not take): read what is there.
    Read(ex);
  };
  if (conn.tls) {
    asio::async_write(*conn.tls, buffers, std::move(on_write));
  } else {
    asio::async_write(conn.socket, buffers, std::move(on_write));
  }
}

void Client::Read(const ExchangePtr& ex) {
  if (ex->timed_out) return OnRead(ex, asio::error::operation_aborted);
  Conn& conn = *ex->conn;
  ex->response = HttpResponse{};
  ex->parser.emplace(ex->response, options_.max_response_bytes);
  if (ex->req.method == "HEAD") ex->parser->skip(true);
  if (conn.tls) {
    return http::async_read(*conn.tls, conn.buffer, *ex->parser,
                            [this, ex](const beast::error_code& ec, size_t) { OnRead(ex, ec); });
  }
  // Plain TCP reads and parses here, as the server does: Beast's composed
  // read wraps each read in two more layers of handlers (~4% of the
  // gateway's CPU per forward).
  ex->parser->eager(true);
  ParseBuffered(ex);
}

// Parses what the connection has buffered; reads more while the answer is
// incomplete. As http::async_read: an end of stream after part of the
// answer is the parser's to judge (a body read to the end is whole), before
// any of it http::error::end_of_stream.
void Client::ParseBuffered(const ExchangePtr& ex) {
  Conn& conn = *ex->conn;
  ResponseParser& parser = *ex->parser;
  while (conn.buffer.size() > 0 && !parser.is_done()) {
    beast::error_code ec;
    size_t used = parser.put(conn.buffer.data(), ec);
    conn.buffer.consume(used);
    if (ec == http::error::need_more) break;
    if (ec) return OnRead(ex, ec);
    if (used == 0) break;
  }
  if (parser.is_done()) return OnRead(ex, {});
  size_t size = beast::read_size(conn.buffer, 65536);
  if (size == 0) return OnRead(ex, http::error::buffer_overflow);
  conn.socket.async_read_some(conn.buffer.prepare(size),
                              [this, ex](const beast::error_code& ec, size_t n) {
                                if (ex->timed_out)
                                  return OnRead(ex, asio::error::operation_aborted);
                                if (ec == asio::error::eof) {
                                  beast::error_code end = http::error::end_of_stream;
                                  if (ex->parser->got_some()) {
                                    end = {};
                                    ex->parser->put_eof(end);
                                  }
                                  return OnRead(ex, end);
                                }
                                if (ec) return OnRead(ex, ec);
                                ex->conn->buffer.commit(n);
                                ParseBuffered(ex);
                              });
}

void Client::OnRead(const ExchangePtr& ex, const beast::error_code& ec) {
  const bool got_some = ex->parser && ex->parser->got_some();
  const bool keep = !ec && !ex->timed_out && ex->parser->keep_alive();
  ex->parser.reset();
  ex->conn->exchange = nullptr;
  const bool reused = ex->conn->used;
  ex->conn->used = true;
  if (!ec) {  // a whole answer, even if the deadline passed since
    Release(ex->url->key, std::move(ex->conn), keep);
    return Finish(ex, std::move(ex->response));
  }
  if (reused && !got_some && !ex->retried && !ex->timed_out &&
      (http_internal::ConnectionClosed(ex->write_ec) || http_internal::ConnectionClosed(ec))) {
    // The server closed it while it was idle and never saw this request:
    // once more on a new connection, in the same slot.
    ex->retried = true;
    ex->conn.reset();
    return Connect(ex);
  }
  if (ex->timed_out) return Abandon(ex, TimedOut(*ex));
  if (ec == http::error::body_limit) {
    return Abandon(ex, ResourceExhausted("response from " + ex->req.url + " exceeds " +
                                         std::to_string(options_.max_response_bytes) + " bytes"));
  }
  const beast::error_code& e = ex->write_ec ? ex->write_ec : ec;
  Abandon(ex, Unavailable("HTTP " + ex->req.method + " " + ex->req.url + " failed: " +
                          (ex->write_ec ? "sending the request: " : "reading the response: ") +
                          e.message()));
}

// The exchange's connection (if any) is closed, whatever is left on it
// belonging to no one, and its slot freed; the request fails.
void Client::Abandon(const ExchangePtr& ex, Status status) {
  if (ex->conn) ex->conn->exchange = nullptr;
  ex->conn.reset();
  Release(ex->url->key, nullptr, false);
  Finish(ex, ex->cancelled ? Cancelled(*ex) : std::move(status));
}

// On `conn`'s context (`conn` null: a slot whose connection is gone): the
// connection goes to the host's first waiter, or idle, or is closed (not
// `keep`: an error, Connection: close, stopping), and then its slot goes
// to the first waiter, who connects on its own context.
void Client::Release(const std::string& key, ConnPtr conn, bool keep) {
  ExchangePtr next;
  {
    std::lock_guard lock(mu_);
    auto it = hosts_.find(key);
    Host& host = it->second;
    keep = keep && conn && !stopping_;
    if (!host.waiting.empty() && !stopping_) {
      next = std::move(host.waiting.front());
      host.waiting.pop_front();
      next->waiting = false;
    } else if (keep) {
      host.idle.push_back(std::move(conn));
      return;
    } else if (--host.open == 0 && host.waiting.empty()) {
      hosts_.erase(it);  // a host no longer used is forgotten
    }
  }
  if (!next) return;  // `conn` closes here, on its context
  if (keep && &conn->io == next->origin) {
    // On this thread: the waiter's context is this one.
    next->wait_timer->cancel();
    if (next->timed_out) {
      Release(key, std::move(conn), true);
      return Finish(next, TimedOut(*next));
    }
    Carry(conn, *next);
    return Write(next);
  }
  conn.reset();
  asio::dispatch(*next->origin, [this, next] {
    next->wait_timer->cancel();
    Connect(next);
  });
}

void Client::Finish(const ExchangePtr& ex, Result<HttpResponse> result) {
  ex->finished = true;
  if (ex->wait_timer) ex->wait_timer->cancel();
  AsyncHttpCallback done = std::move(ex->done);
  done(std::move(result));
  std::lock_guard lock(mu_);
  if (options_.abort_on_stop) active_.erase(ex.get());
  if (--inflight_ == 0) drained_.notify_all();
}

Result<ssl::context*> Client::TlsContext() {
  std::lock_guard lock(tls_mu_);
  if (tls_) return tls_.get();
  ASSIGN_OR_RETURN(tls_,
                   NewClientTlsContext({.ca_file = options_.ca_file,
                                        .insecure_skip_verify = options_.insecure_skip_verify}));
  return tls_.get();
}

void Client::Stop() {
  std::vector<ExchangePtr> waiters;
  {
    std::unique_lock lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
    for (auto& [key, host] : hosts_) {
      for (ExchangePtr& w : host.waiting) {
        w->waiting = false;
        waiters.push_back(std::move(w));
      }
      host.waiting.clear();
    }
  }
  // Never sent: answered at once, each on its own context.
  for (ExchangePtr& w : waiters) {
    asio::post(*w->origin, [this, w] { Finish(w, Cancelled(*w)); });
  }
  std::vector<ExchangePtr> sent;
  {
    std::lock_guard lock(mu_);
    for (auto& [raw, weak] : active_) {
      if (ExchangePtr ex = weak.lock()) sent.push_back(std::move(ex));
    }
  }
  // Cut on their own contexts: the operation pending there ends, and the
  // exchange fails through Abandon, which sees `cancelled`. An exchange
  // that is between operations (connecting, say) sees `timed_out` at its
  // next step.
  for (ExchangePtr& ex : sent) {
    asio::post(*ex->origin, [ex] {
      if (ex->finished) return;  // waiters: their Finish was posted first
      ex->cancelled = true;
      ex->timed_out = true;
      Cut(*ex);
    });
  }
  std::vector<ConnPtr> idle;
  {
    std::unique_lock lock(mu_);
    drained_.wait(lock, [this] { return inflight_ == 0; });
    for (auto& [key, host] : hosts_) {
      for (auto& c : host.idle) idle.push_back(std::move(c));
    }
    hosts_.clear();
  }
  // Each closed on its own context (its timer may still be armed there);
  // ours runs what is posted to it before its thread ends.
  for (ConnPtr& c : idle) {
    asio::io_context& home = c->io;
    asio::post(home, [c = std::move(c)] {});
  }
  work_.reset();
  if (thread_.joinable()) thread_.join();
}

}  // namespace

std::unique_ptr<AsyncHttpClient> NewAsyncHttpClient(AsyncHttpClientOptions options) {
  return std::make_unique<Client>(std::move(options));
}

}  // namespace aether
