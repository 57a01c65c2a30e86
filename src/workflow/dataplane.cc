// The sending side of the dataplane: per-peer queues and sender threads for
// casts, a pool of threads for calls. The receiving routes are in
// dataplane_server.cc.
#include "workflow/dataplane.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <optional>
#include <random>

#include "common/backoff.h"
#include "common/json_util.h"
#include "common/log.h"
#include "workflow/dataplane_answer.h"
#include "workflow/dataplane_codec.h"
#include "workflow/dataplane_impl.h"

namespace aether::workflow {
namespace {

using std::chrono::milliseconds;

// The "error" of a JSON error body, or the status line.
std::string ErrorMessage(const HttpResponse& r) {
  Result<boost::json::object> o = ParseJsonObject(r.body);
  if (o.ok()) {
    Result<std::string> e = GetString(*o, "error", "");
    if (e.ok() && !e->empty()) return *e;
  }
  return "HTTP " + std::to_string(r.status);
}

std::string ErrorCode(const HttpResponse& r) {
  Result<boost::json::object> o = ParseJsonObject(r.body);
  if (!o.ok()) return "";
  Result<std::string> c = GetString(*o, "code", "");
  return c.ok() ? *c : "";
}

// What a /dataplane/v1/call answer means to the caller (the protocol doc's table).
Result<CallReply> CallResult(HttpResponse&& r, const std::string& instance) {
  switch (r.status) {
    case 200:
      return CallReply{std::move(r.body), r.Header(kReplyHeader) == "none"};
    case 404:
      return NotFound("no instance " + instance + " on its node: " + ErrorMessage(r));
    case 503:
      return ResourceExhausted(instance + " is full: " + ErrorMessage(r));
    case 504:
      return DeadlineExceeded(instance + " did not reply in time");
    case 502:
      if (ErrorCode(r) == "unavailable") return Unavailable(ErrorMessage(r));
      return Internal(ErrorMessage(r));
    case 401:
    case 403:
      // Usually the target's node has not applied the newest assignment
      // yet (or this node has not joined): worth retrying, like an
      // unreachable node.
      return Unavailable("the node of " + instance +
                         " refused this node's dataplane token: " + ErrorMessage(r));
    default:
      return Internal(instance + ": " + ErrorMessage(r));
  }
}

bool Transient(const Status& st) {
  return st.code() == Code::kUnavailable || st.code() == Code::kDeadlineExceeded ||
         st.code() == Code::kInternal;
}
// The dataplane's families in DataplaneOptions::metrics; the scrape hook
// copies DataplaneCounters (atomics) into them.
struct MetricFamilies {
  explicit MetricFamilies(MetricsRegistry& r)
      : remote_events(r.AddCollectedCounter("aether_dataplane_remote_events_total",
                                            "Events sent to other nodes and accepted.")),
        send_dropped(r.AddCollectedCounter("aether_dataplane_send_dropped_total",
                                           "Events for other nodes dropped on the way.")),
        received(r.AddCollectedCounter("aether_dataplane_received_events_total",
                                       "Events from other nodes delivered here.")),
        received_dropped(r.AddCollectedCounter(
            "aether_dataplane_received_dropped_total",
            "Events from other nodes dropped here (an instance that does not run here).")),
        deferred(r.AddCollectedCounter(
            "aether_dataplane_deferred_events_total",
            "Events deferred by full mailboxes at the receiving node and sent again.")),
        duplicates(r.AddCollectedCounter(
            "aether_dataplane_duplicate_batches_total",
            "Batches from other nodes received again (a resend after a lost answer): answered "
            "as before, nothing delivered twice.")),
        calls(r.AddCollectedCounter("aether_dataplane_calls_total", "Calls between nodes.")),
        queued(r.AddCollectedGauge("aether_dataplane_queued_events",
                                   "Events waiting to be sent to other nodes.")),
        peers_down(r.AddCollectedGauge("aether_dataplane_peers_down",
                                       "Peer nodes not answering right now.")) {}

  void Collect(const DataplaneCounters& c, Scrape& s) const {
    auto d = [](uint64_t v) { return static_cast<double>(v); };
    s.Add(remote_events, d(c.sent));
    s.Add(send_dropped, {{"reason", "queue_full"}}, d(c.queue_full));
    s.Add(send_dropped, {{"reason", "unreachable"}}, d(c.unreachable));
    s.Add(send_dropped, {{"reason", "rejected"}}, d(c.rejected));
    s.Add(send_dropped, {{"reason", "at_peer"}}, d(c.peer_dropped));
    s.Add(send_dropped, {{"reason", "bad_answer"}}, d(c.bad_answer));
    s.Add(received, d(c.received));
    s.Add(received_dropped, d(c.received_dropped));
    s.Add(deferred, {{"side", "sender"}}, d(c.deferred));
    s.Add(deferred, {{"side", "receiver"}}, d(c.received_deferred));
    s.Add(duplicates, d(c.received_duplicates));
    s.Add(calls, {{"direction", "out"}, {"result", "ok"}}, d(c.calls_ok));
    s.Add(calls, {{"direction", "out"}, {"result", "error"}}, d(c.calls_failed));
    s.Add(calls, {{"direction", "in"}, {"result", "any"}}, d(c.calls_received));
    s.Add(queued, d(c.queued));
    s.Add(peers_down, d(c.peers_down));
  }

  CollectedFamily &remote_events, &send_dropped, &received, &received_dropped, &deferred,
      &duplicates, &calls, &queued, &peers_down;
};

}  // namespace

Dataplane::Dataplane(DataplaneOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
  if (MetricsRegistry* registry = impl_->options.metrics) {
    scrape_hook_ = registry->OnScrape([this, families = MetricFamilies(*registry)](Scrape& s) {
      families.Collect(counters(), s);
    });
  }
}

Dataplane::~Dataplane() {
  scrape_hook_.Reset();
  Stop();
}

void Dataplane::Stop() {
  Impl& d = *impl_;
  d.stopping.store(true);
  {
    std::shared_lock lock(d.peers_mu);
    for (auto& [url, p] : d.peers) {
      { std::lock_guard pl(p->mu); }
      p->cv.notify_all();
      p->room.WakeAll();
    }
  }
  d.stop.request_stop();  // requests in flight end at once
  d.call_http->Stop();    // calls in flight are cut and answered
  std::unique_lock lock(d.peers_mu);
  for (auto& [url, p] : d.peers) {
    if (p->thread.joinable()) p->thread.join();
    d.DropQueued(*p, d.unreachable);
  }
  // The host may go after Stop(); nothing is dropped any more.
  d.host.store(nullptr);
}

std::string Dataplane::Impl::NewBatchEpoch() {
  std::random_device rd;
  uint64_t epoch = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  return fmt::format("{:016x}", epoch);
}

void Dataplane::CountSendDropped(const OutputTarget& /*target*/) {
  impl_->queue_full.fetch_add(1, std::memory_order_relaxed);
}

Dataplane::Impl::Peer* Dataplane::Impl::PeerFor(const OutputTarget& target) {
  // A node id and a url: the token is the node's, the connection the url's.
  std::string key = target.node_id + '\n' + target.url;
  {
    std::shared_lock lock(peers_mu);
    auto it = peers.find(key);
    if (it != peers.end()) return it->second.get();
  }
  std::unique_lock lock(peers_mu);
  // Stop() joins the threads under this lock: none may start after it.
  if (stopping.load()) return nullptr;
  auto [it, inserted] = peers.try_emplace(key);
  if (inserted) {
    it->second = std::make_unique<Peer>(target.node_id, target.url);
    Peer* p = it->second.get();
    p->thread = std::thread([this, p] { SendLoop(*p); });
  }
  return it->second.get();
}

Status Dataplane::Cast(const OutputTarget& target, std::string_view source,
                       std::string_view payload, WaitUntil wait_until) {
  Impl& d = *impl_;
  if (d.stopping.load(std::memory_order_relaxed)) {
    return Unavailable("the dataplane is stopping");
  }
  if (payload.size() > kMaxEventPayload) {
    return InvalidArgument(
        fmt::format("the payload is {} bytes; the limit is {}", payload.size(), kMaxEventPayload));
  }
  if (target.instance.empty() || target.instance.size() > kMaxFrameName ||
      source.size() > kMaxFrameName || target.url.empty()) {
    return InvalidArgument("bad target or source for the dataplane");
  }
  std::string frame;
  AppendFrame(frame, target.instance, source, payload);
  Impl::Peer* peer = d.PeerFor(target);
  if (peer == nullptr) return Unavailable("the dataplane is stopping");
  Impl::Peer& p = *peer;
  Status st;
  {
    std::unique_lock lock(p.mu);
    st = p.room.Wait(
        lock, wait_until,
        [&]() -> std::optional<Status> {
          if (p.queue.size() + p.in_flight >= d.options.queue_length) {
            if (d.stopping.load()) return Unavailable("the dataplane is stopping");
            return std::nullopt;
          }
          p.queue.push_back(std::move(frame));
          d.queued.fetch_add(1, std::memory_order_relaxed);
          return OkStatus();
        },
        [&] {
          // Not counted here: the caller may wait and try again, or tell a
          // client (an ingress): it counts what is final (CountSendDropped).
          return ResourceExhausted(fmt::format("the link to {} is full ({} events queued)", p.url,
                                               d.options.queue_length));
        });
  }
  if (st.ok()) p.cv.notify_one();
  return st;
}

bool Dataplane::Impl::SleepOrStop(Peer& peer, milliseconds d) {
  std::unique_lock lock(peer.mu);
  options.clock->WaitFor(lock, peer.cv, d, [&] { return stopping.load(); });
  return stopping.load();
}

void Dataplane::Impl::Dropped(std::atomic<uint64_t>& counter, uint64_t n) {
  if (n == 0) return;
  counter.fetch_add(n, std::memory_order_relaxed);
  if (WorkflowHost* h = host.load()) h->AddDataplaneDropped(static_cast<int64_t>(n));
}

void Dataplane::Impl::DropQueued(Peer& peer, std::atomic<uint64_t>& counter) {
  size_t n;
  {
    std::lock_guard lock(peer.mu);
    n = peer.queue.size();
    queued.fetch_sub(n, std::memory_order_relaxed);
    peer.queue.clear();
    peer.in_flight = 0;
    peer.room.NotifyAll();
  }
  Dropped(counter, n);
}

void Dataplane::Impl::Requeue(Peer& peer, const std::string& batch, const std::vector<size_t>& ends,
                              const std::vector<size_t>& indexes) {
  std::lock_guard lock(peer.mu);
  for (auto it = indexes.rbegin(); it != indexes.rend(); ++it) {
    size_t begin = *it == 0 ? 0 : ends[*it - 1];
    peer.queue.push_front(batch.substr(begin, ends[*it] - begin));
  }
  queued.fetch_add(indexes.size(), std::memory_order_relaxed);
  peer.in_flight = 0;  // the deferred ones are back in the queue, the others done
  peer.room.NotifyAll();
}

void Dataplane::Impl::BatchDone(Peer& peer) {
  std::lock_guard lock(peer.mu);
  peer.in_flight = 0;
  peer.room.NotifyAll();
}

bool Dataplane::Impl::Answered(Peer& peer, std::string_view body, const std::string& batch,
                               const std::vector<size_t>& ends, Backoff& overrun) {
  BatchAnswer a = ParseBatchAnswer(body, ends.size());
  sent.fetch_add(a.accepted, std::memory_order_relaxed);
  Dropped(peer_dropped, a.dropped);
  Dropped(bad_answer, a.unaccounted);
  if (!a.problem.empty() && !peer.bad_answer_logged) {
    // Once until the peer answers well again: a broken peer would
    // otherwise log a line per batch.
    LOG_WARN(
        "dataplane: peer {} answered a batch of {} events with what is not the protocol's "
        "answer ({}); {} of them counted as dropped, none sent twice",
        peer.url, ends.size(), a.problem, a.unaccounted);
  }
  peer.bad_answer_logged = !a.problem.empty();
  if (a.deferred.empty()) {
    overrun.Reset();
    return false;
  }
  // The peer's mailboxes are full: its instances get a moment to drain,
  // longer while it keeps deferring; the deferred frames go first next
  // time, in their order, in a new batch (a new id: this one's answer is
  // final at the peer).
  deferred.fetch_add(a.deferred.size(), std::memory_order_relaxed);
  Requeue(peer, batch, ends, a.deferred);
  return SleepOrStop(peer, overrun.Next());
}

void Dataplane::Impl::SendLoop(Peer& peer) {
  Backoff backoff(options.backoff_initial, options.backoff_max);
  Backoff overrun(options.overrun_pause, options.overrun_pause_max);
  const std::string url = peer.url + std::string(kEventsPath);
  std::string batch;
  std::vector<size_t> ends;  // where each frame of `batch` ends
  for (;;) {
    size_t n = 0;
    batch.clear();
    ends.clear();
    {
      std::unique_lock lock(peer.mu);
      peer.cv.wait(lock, [&] { return stopping.load() || !peer.queue.empty(); });
      if (stopping.load()) return;
      while (!peer.queue.empty() && n < options.max_batch_events &&
             (n == 0 || batch.size() + peer.queue.front().size() <= options.max_batch_bytes)) {
        batch += peer.queue.front();
        ends.push_back(batch.size());
        peer.queue.pop_front();
        ++n;
      }
      queued.fetch_sub(n, std::memory_order_relaxed);
      peer.in_flight = n;  // room again when the peer has answered for them
    }
    // Kept by every retry of this batch (a lost answer must not deliver it
    // twice); the frames the peer defers go into a later batch, a new id.
    const std::string batch_id =
        fmt::format("{}-{}", batch_epoch, batch_seq.fetch_add(1, std::memory_order_relaxed) + 1);
    for (;;) {
      // The token is taken each time: the node may have joined (again)
      // meanwhile.
      HttpHeaders headers = Credentials(peer.node_id);
      headers.emplace_back("Content-Type", std::string(kEventsContentType));
      headers.emplace_back(std::string(kBatchHeader), batch_id);
      Result<HttpResponse> r = http->Send({.method = "POST",
                                           .url = url,
                                           .body = batch,
                                           .headers = std::move(headers),
                                           .timeout = options.request_timeout,
                                           .cancel = stop.get_token()});
      Status st = r.ok() ? OkStatus() : r.status();
      if (!st.ok() && stopping.load()) {  // cancelled by Stop()
        Dropped(unreachable, n);
        return;
      }
      if (r.ok() && r->status != 200) {
        // 401/403: usually the peer has not applied the assignment that
        // lets this node in yet; retried like a peer that does not answer.
        bool refused = r->status == 401 || r->status == 403;
        st = r->status >= 500 || refused
                 ? Unavailable(fmt::format("HTTP {}: {}", r->status, ErrorMessage(*r)))
                 : InvalidArgument(fmt::format("HTTP {}: {}", r->status, ErrorMessage(*r)));
      }
      if (st.ok()) {
        if (Answered(peer, r->body, batch, ends, overrun)) return;
        if (peer.down) {
          peer.down = false;
          peers_down.fetch_sub(1, std::memory_order_relaxed);
          LOG_INFO("dataplane: peer {} answers again", peer.url);
        }
        backoff.Reset();
        break;
      }
      if (!Transient(st)) {
        // Refused (malformed, too large): retrying would not help.
        Dropped(rejected, n);
        LOG_WARN("dataplane: peer {} refused a batch of {} events: {}", peer.url, n, st.message());
        break;
      }
      auto now = options.clock->Now();
      if (!peer.down) {
        peer.down = true;
        peer.down_since = now;
        peers_down.fetch_add(1, std::memory_order_relaxed);
        LOG_WARN("dataplane: peer {} unreachable ({}); retrying for {} ms, then dropping", peer.url,
                 st.message(), options.retry_for.count());
      }
      if (now - peer.down_since >= options.retry_for) {
        // Down for longer than events are worth keeping: drop this batch
        // and the backlog, keep probing with the next events.
        Dropped(unreachable, n);
        DropQueued(peer, unreachable);
        if (SleepOrStop(peer, backoff.Next())) return;
        break;
      }
      if (SleepOrStop(peer, backoff.Next())) {
        Dropped(unreachable, n);
        return;
      }
    }
    BatchDone(peer);
  }
}

// What Call and CallOnThisThread check before anything is sent.
Status Dataplane::Impl::CheckCall(const OutputTarget& target, std::string_view source,
                                  std::string_view payload) {
  if (payload.size() > kMaxEventPayload) {
    return InvalidArgument(
        fmt::format("the payload is {} bytes; the limit is {}", payload.size(), kMaxEventPayload));
  }
  if (target.instance.empty() || target.instance.size() > kMaxFrameName ||
      source.size() > kMaxFrameName || target.url.empty()) {
    return InvalidArgument("bad target or source for the dataplane");
  }
  if (stopping.load()) {
    calls_failed.fetch_add(1, std::memory_order_relaxed);
    return Unavailable("the dataplane is stopping");
  }
  return OkStatus();
}

Dataplane::Impl::CallRequest Dataplane::Impl::NewCall(const OutputTarget& target,
                                                      std::string_view source,
                                                      std::string_view payload,
                                                      milliseconds timeout) const {
  CallRequest c;
  AppendFrame(c.frame, target.instance, source, payload);
  timeout = std::max(timeout, milliseconds(0));
  c.headers = Credentials(target.node_id);
  // The target's timeout: ours (0 = its own event timeout).
  c.headers.emplace_back(std::string(kTimeoutHeader), std::to_string(timeout.count()));
  c.headers.emplace_back("Content-Type", "application/octet-stream");
  // HTTP waits a little longer than the target so its 504 arrives first.
  c.wait = (timeout.count() > 0 ? timeout : options.max_call_wait) + milliseconds(1000);
  c.url = target.url + std::string(kCallPath);
  return c;
}

Result<CallReply> Dataplane::Impl::CallAnswer(Result<HttpResponse> r, const std::string& instance) {
  Result<CallReply> reply =
      r.ok() ? CallResult(std::move(*r), instance)
      : r.status().code() == Code::kDeadlineExceeded
          ? Result<CallReply>(DeadlineExceeded(instance + " did not reply in time"))
      : stopping.load() ? Result<CallReply>(Unavailable("the dataplane is stopping"))
                        : Result<CallReply>(Unavailable(r.status().message()));
  (reply.ok() ? calls_ok : calls_failed).fetch_add(1, std::memory_order_relaxed);
  return reply;
}

void Dataplane::Call(const OutputTarget& target, std::string_view source, std::string_view payload,
                     milliseconds timeout, ReplyFn done) {
  Impl& d = *impl_;
  if (Status st = d.CheckCall(target, source, payload); !st.ok()) return done(std::move(st));
  if (d.calls_pending.fetch_add(1) >= d.options.max_pending_calls) {
    d.calls_pending.fetch_sub(1);
    d.calls_failed.fetch_add(1, std::memory_order_relaxed);
    return done(ResourceExhausted("too many calls to other nodes waiting"));
  }
  // The client reads the body until it calls back: the request lives in
  // the callback.
  auto call = std::make_shared<Impl::CallRequest>(d.NewCall(target, source, payload, timeout));
  AsyncHttpRequest request{.method = "POST",
                           .url = call->url,
                           .body = call->frame,
                           .headers = std::move(call->headers),
                           .timeout = call->wait};
  d.call_http->Send(std::move(request), [&d, call, instance = target.instance,
                                         done = std::move(done)](Result<HttpResponse> r) {
    Result<CallReply> reply = d.CallAnswer(std::move(r), instance);
    d.calls_pending.fetch_sub(1);
    done(std::move(reply));
  });
}

std::optional<Result<CallReply>> Dataplane::CallOnThisThread(const OutputTarget& target,
                                                             std::string_view source,
                                                             std::string_view payload,
                                                             milliseconds timeout) {
  Impl& d = *impl_;
  if (Status st = d.CheckCall(target, source, payload); !st.ok()) return st;
  Impl::CallRequest call = d.NewCall(target, source, payload, timeout);
  Result<HttpResponse> r = d.call_sync_http->Send({.method = "POST",
                                                   .url = call.url,
                                                   .body = call.frame,
                                                   .headers = std::move(call.headers),
                                                   .timeout = call.wait,
                                                   .cancel = d.stop.get_token()});
  return d.CallAnswer(std::move(r), target.instance);
}

DataplaneCounters Dataplane::counters() const {
  const Impl& d = *impl_;
  DataplaneCounters c;
  c.sent = d.sent.load();
  c.peer_dropped = d.peer_dropped.load();
  c.bad_answer = d.bad_answer.load();
  c.deferred = d.deferred.load();
  c.received_deferred = d.received_deferred.load();
  c.received_duplicates = d.received_duplicates.load();
  c.queue_full = d.queue_full.load();
  c.unreachable = d.unreachable.load();
  c.rejected = d.rejected.load();
  c.received = d.received.load();
  c.received_dropped = d.received_dropped.load();
  c.calls_ok = d.calls_ok.load();
  c.calls_failed = d.calls_failed.load();
  c.calls_received = d.calls_received.load();
  c.peers_down = d.peers_down.load();
  c.queued = d.queued.load();
  return c;
}

}  // namespace aether::workflow
