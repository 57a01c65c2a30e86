#include "control/gateway.h"

#include <algorithm>
#include <boost/beast/core/string.hpp>
#include <boost/json.hpp>

#include "common/json_util.h"
#include "common/log.h"

namespace aether::control {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

// Headers an ingress forward does not copy: hop-by-hop ones, Host and
// Content-Length (the client sets its own), Expect (this server answered
// it; the forward sends its body at once), and the hop count, which the
// forward sets.
bool LeftOutOfForward(std::string_view name) {
  if (IsHopByHopHeader(name)) return true;
  for (std::string_view h : {std::string_view("Host"), std::string_view("Content-Length"),
                             std::string_view("Expect"), kHopsHeader}) {
    if (boost::beast::iequals(name, h)) return true;
  }
  return false;
}

// The headers of an ingress's answer that stay behind: the engine's own
// (Server, Date), its framing (Content-Length, hop-by-hop) and Content-Type
// (the answer carries it apart).
bool LeftOutOfAnswer(std::string_view name) {
  if (IsHopByHopHeader(name)) return true;
  for (std::string_view h : {"Server", "Date", "Content-Length", "Content-Type"}) {
    if (boost::beast::iequals(name, h)) return true;
  }
  return false;
}

// Only failures before the request left are retried elsewhere: a request
// that reached an engine may have run, and running it twice is not ours to
// decide.
bool NotSent(const Status& st) {
  return st.code() == Code::kUnavailable &&
         (st.message().starts_with("cannot connect") || st.message().starts_with("cannot resolve"));
}

// The client stopped before the request was sent (AsyncHttpClient::Stop).
bool Cancelled(const Status& st) {
  return st.code() == Code::kUnavailable && st.message().ends_with(" cancelled");
}

// `body` is a JSON object (already parsed); appends "function": name.
std::string ForwardBody(std::string_view body, const std::string& name) {
  size_t close = body.find_last_of('}');
  size_t open = body.find_first_of('{');
  bool empty = body.find_first_not_of(" \t\r\n", open + 1) == close;
  std::string out;
  out.reserve(body.size() + name.size() + 16);
  out.append(body.substr(0, close));
  out += empty ? "\"function\":" : ",\"function\":";
  out += ToJson(json::value(name));
  out += '}';
  return out;
}

HttpResponse ShuttingDown() {
  return JsonError(503, "unavailable", "the control plane is shutting down");
}

}  // namespace

// One invocation, from Invoke to its answer.
struct Gateway::Call {
  std::string name;
  // The function's entry in the manifest it was found in, which the call
  // holds (the version and digest it asks for, without copies).
  std::shared_ptr<const Manifest> manifest;
  const FunctionInfo* fn = nullptr;
  // The client's own body with "function" added as its last member (the
  // engine, like boost::json, keeps the last of repeated keys): re-encoding
  // "input" would change its text (2.5 becomes 2.5E0, long numbers round).
  std::string forward;
  std::chrono::milliseconds timeout{0};
  Responder respond;
  boost::asio::io_context* io = nullptr;
  Clock::time_point start;
  bool holds_slot = false;
  std::vector<std::string> tried;  // node ids, in order
  // Forward (an http-ingress request): sent as it is to `url`, not counted
  // as an invocation.
  bool ingress = false;
  std::string url, method;
  HttpHeaders headers;
};

Gateway::Gateway(FunctionRegistry& functions, NodeRegistry& nodes, ControlMetrics& metrics,
                 GatewayOptions options)
    : functions_(functions),
      nodes_(nodes),
      metrics_(metrics),
      ok_(metrics.invokes.WithLabels({{"status", "200"}})),
      invoke_seconds_(metrics.invoke_seconds.Get()),
      options_(options),
      http_(NewAsyncHttpClient({.max_connections_per_host = options.max_connections_per_node})) {}

Gateway::~Gateway() { Stop(); }

void Gateway::Invoke(std::string name, const std::string& body, Responder respond,
                     boost::asio::io_context* io) {
  auto call = std::make_shared<Call>();
  call->start = Clock::now();
  call->respond = std::move(respond);
  call->io = io;
  if (stopping_.load(std::memory_order_acquire)) return Answer(call, ShuttingDown());
  // Only looked at: the engine parses it.
  if (Status st = ValidateJsonObject(body); !st.ok()) {
    return Answer(call, JsonError(400, "invalid_request", st.message()));
  }
  Result<std::shared_ptr<const Manifest>> manifest = functions_.CachedManifest();
  if (!manifest.ok()) return Answer(call, JsonError(manifest.status()));
  // The manifest lists functions by name.
  const std::vector<FunctionInfo>& fns = (*manifest)->functions;
  auto it =
      std::lower_bound(fns.begin(), fns.end(), name,
                       [](const FunctionInfo& f, const std::string& n) { return f.name < n; });
  if (it == fns.end() || it->name != name) {
    return Answer(call, JsonError(404, "not_found", "function " + name + " not found"));
  }
  const FunctionInfo* fn = &*it;
  call->manifest = std::move(*manifest);
  call->fn = fn;
  call->forward = ForwardBody(body, name);
  // What the engine gives the execution, plus room for its queueing,
  // fetch and compile.
  call->timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
                      EffectiveExecTimeout(fn->current.limits.timeout, options_.exec_timeout)) +
                  options_.slack;
  call->name = std::move(name);
  Admit(call);
}

void Gateway::Forward(std::string url, const HttpRequest& req, std::chrono::milliseconds timeout,
                      int hops, Responder respond) {
  auto call = std::make_shared<Call>();
  call->start = Clock::now();
  call->respond = std::move(respond);
  call->io = req.io_context;
  call->ingress = true;
  call->url = std::move(url);
  // The query too: an ingress in EDGELESS's format passes it on.
  if (size_t q = req.target.find('?'); q != std::string::npos) {
    call->url.append(req.target, q, std::string::npos);
  }
  call->method = req.method;
  call->forward = req.body;
  call->timeout = timeout;
  // The request's end-to-end headers (an ingress in EDGELESS's format hands
  // them to its function; the portal headers carry a link between domains,
  // docs/domains.md), and the Host the client asked for.
  for (const auto& [name, value] : req.headers) {
    if (!LeftOutOfForward(name)) call->headers.emplace_back(name, value);
  }
  if (!req.HasHeader("X-Forwarded-Host") && req.HasHeader("Host")) {
    call->headers.emplace_back("X-Forwarded-Host", req.Header("Host"));
  }
  call->headers.emplace_back(kHopsHeader, std::to_string(hops));
  if (stopping_.load(std::memory_order_acquire)) return Answer(call, ShuttingDown());
  Admit(call);
}

// A free slot is taken without the lock while nobody waits; the queue and
// its wake-ups are under mu_. The slot count, the queue's length and
// stopping_ are sequentially consistent: a call queued while a slot is
// freed is either seen by the release (queued_) or sees the free slot
// itself (TakeSlot after queueing), so none waits beside a free slot.
void Gateway::Admit(const CallPtr& call) {
  if (queued_.load() == 0 && TakeSlot()) {
    if (stopping_.load()) {
      ReleaseSlot();
      return Answer(call, ShuttingDown());
    }
    call->holds_slot = true;
    return Attempt(call);
  }
  enum { kQueued, kStopping, kOverloaded } admitted;
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      admitted = kStopping;
    } else if (queue_.size() < options_.max_queue) {
      queue_.push_back(call);
      queued_.store(queue_.size());
      admitted = kQueued;
    } else {
      admitted = kOverloaded;
    }
  }
  switch (admitted) {
    case kQueued:
      return Drain();  // a slot freed meanwhile goes to the queue's first
    case kStopping:
      return Answer(call, ShuttingDown());
    case kOverloaded:
      return Answer(call,
                    JsonError(503, "overloaded", "too many invocations in flight; retry later"));
  }
}

bool Gateway::TakeSlot() {
  size_t n = inflight_.load();
  while (n < options_.threads) {
    if (inflight_.compare_exchange_weak(n, n + 1)) return true;
  }
  return false;
}

void Gateway::SendForward(const CallPtr& call) {
  AsyncHttpRequest req{.method = call->method,
                       .url = call->url,
                       .body = call->forward,
                       .headers = call->headers,
                       .timeout = call->timeout};
  http_->Send(
      std::move(req),
      [this, call](Result<HttpResponse> r) {
        if (r.ok()) {
          HttpResponse out;
          out.status = r->status;
          out.content_type = std::move(r->content_type);
          out.body = std::move(r->body);
          // The ingress's end-to-end headers (Retry-After, an EDGELESS
          // function's own); the engine's Server and framing stay behind.
          for (auto& [name, value] : r->headers) {
            if (!LeftOutOfAnswer(name)) out.headers.emplace_back(std::move(name), std::move(value));
          }
          return Answer(call, std::move(out));
        }
        const Status& st = r.status();
        if (Cancelled(st)) return Answer(call, ShuttingDown());
        if (st.code() == Code::kDeadlineExceeded) {
          return Answer(call, JsonError(504, "gateway_timeout",
                                        "the ingress did not answer in time: " + st.message()));
        }
        HttpResponse down =
            JsonError(503, "unavailable", "the ingress cannot be reached: " + st.message());
        down.headers.emplace_back("Retry-After", "1");
        Answer(call, std::move(down));
      },
      call->io);
}

void Gateway::Attempt(const CallPtr& call) {
  if (call->ingress) return SendForward(call);
  std::optional<NodePick> node = nodes_.Pick(call->name, call->fn->current.sha256, call->tried);
  if (!node) {
    if (call->tried.empty()) {
      HttpResponse r = JsonError(503, "no_ready_node",
                                 "function " + call->name + " version " +
                                     std::to_string(call->fn->current.version) +
                                     " is not ready on any live node");
      r.headers.emplace_back("Retry-After", "1");
      return Answer(call, std::move(r));
    }
    return Answer(call, JsonError(503, "no_ready_node",
                                  "no ready node for " + call->name + " could be reached"));
  }
  call->tried.push_back(node->node_id);
  AsyncHttpRequest req{.method = "POST",
                       .url = node->url + "/execute",
                       .body = call->forward,
                       .timeout = call->timeout};
  http_->Send(
      std::move(req),
      [this, call, id = std::move(node->node_id)](Result<HttpResponse> r) {
        OnAnswer(call, id, std::move(r));
      },
      call->io);
}

void Gateway::OnAnswer(const CallPtr& call, const std::string& node_id, Result<HttpResponse> r) {
  nodes_.Release(node_id);
  if (r.ok()) {
    // The engine's status, Content-Type and body; its other headers are
    // its own (Content-Length, Connection) and stay behind.
    r->headers.clear();
    r->headers.emplace_back("X-Aether-Node", node_id);
    return Answer(call, std::move(*r));
  }
  const Status& st = r.status();
  if (Cancelled(st)) return Answer(call, ShuttingDown());  // never sent: Stop came first
  LOG_WARN("invoke {}: node {}: {}", call->name, node_id, st.message());
  if (NotSent(st)) {
    if (call->tried.size() < 2) return Attempt(call);
    return Answer(call, JsonError(503, "no_ready_node",
                                  "no ready node for " + call->name + " could be reached"));
  }
  if (st.code() == Code::kDeadlineExceeded) {
    return Answer(call,
                  JsonError(504, "gateway_timeout", "node " + node_id + " did not answer in time"));
  }
  Answer(call, JsonError(502, "bad_gateway", "node " + node_id + " failed: " + st.message()));
}

void Gateway::Answer(const CallPtr& call, HttpResponse response) {
  if (!call->ingress) Count(*call, response.status);
  call->respond(std::move(response));
  if (call->holds_slot) {
    call->holds_slot = false;
    ReleaseSlot();
  }
}

void Gateway::Count(const Call& call, int status) {
  Counter& c =
      status == 200 ? ok_ : metrics_.invokes.WithLabels({{"status", std::to_string(status)}});
  c.Inc();
  double seconds = std::chrono::duration<double>(Clock::now() - call.start).count();
  invoke_seconds_.Observe(seconds);
  // An empty name: refused before the function was found (a bad body, an
  // unknown name), which belongs to no function's series.
  if (options_.stats != nullptr && !call.name.empty()) {
    options_.stats->Record(call.name, status, seconds);
  }
}

void Gateway::ReleaseSlot() {
  inflight_.fetch_sub(1);
  if (queued_.load() != 0) return Drain();
  if (stopping_.load()) {
    // Under the lock: Stop may return, and the gateway go, as soon as it
    // is released.
    std::lock_guard lock(mu_);
    idle_.notify_all();
  }
}

// Free slots go to the first queued calls. One thread at a time starts
// queued calls, in a loop rather than by recursion: a call that ends at once
// (no ready node) would otherwise start the next from inside itself.
void Gateway::Drain() {
  std::unique_lock lock(mu_);
  if (!draining_) {
    draining_ = true;
    while (!stopping_ && !queue_.empty() && TakeSlot()) {
      CallPtr next = std::move(queue_.front());
      queue_.pop_front();
      queued_.store(queue_.size());
      next->holds_slot = true;
      lock.unlock();
      Attempt(next);
      lock.lock();
    }
    draining_ = false;
  }
  if (stopping_ && inflight_.load() == 0) idle_.notify_all();
}

void Gateway::Stop() {
  std::deque<CallPtr> queued;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    queued.swap(queue_);
    queued_.store(0);
  }
  for (const CallPtr& call : queued) Answer(call, ShuttingDown());
  // Fails the forwards waiting for a connection (answered 503 unavailable
  // through OnAnswer) and waits for those sent.
  http_->Stop();
  std::unique_lock lock(mu_);
  idle_.wait(lock, [this] { return inflight_.load() == 0; });
}

}  // namespace aether::control
