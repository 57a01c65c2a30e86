#include "workflow/resources/portal.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/http_client.h"
#include "common/json_util.h"
#include "common/log.h"
#include "common/room_waiter.h"
#include "workflow/portal_codec.h"
#include "workflow/resources/egress_policy.h"

namespace aether::workflow::resources {
namespace {

// Kept connections to the other domain: the sender thread's and a few calls'.
constexpr size_t kPortalIdleConnections = 8;
// A call's reply is at most one payload; an answer's JSON is small.
constexpr uint64_t kPortalMaxResponse = kMaxPortalPayload + (64u << 10);
constexpr int64_t kPortalMaxCallMs = 60000;

// The "error" and "code" of a JSON error answer ("" when absent).
struct RemoteError {
  std::string message;
  std::string code;
};
RemoteError RemoteErrorOf(const HttpResponse& r) {
  RemoteError e{DescribeHttpError(r), ""};
  if (Result<boost::json::object> body = ParseJsonObject(r.body); body.ok()) {
    if (Result<std::string> code = GetString(*body, "code", ""); code.ok()) e.code = *code;
  }
  return e;
}

// The answer's "accepted" when it is a count of 0..n; nullopt otherwise
// (another server, a body that is not a portal's answer).
std::optional<size_t> AcceptedOf(const HttpResponse& r, size_t n) {
  Result<boost::json::object> body = ParseJsonObject(r.body);
  if (!body.ok()) return std::nullopt;
  Result<int64_t> accepted = GetInt(*body, "accepted");
  if (!accepted.ok() || *accepted < 0 || static_cast<uint64_t>(*accepted) > n) return std::nullopt;
  return static_cast<size_t>(*accepted);
}

class Portal final : public Resource {
 public:
  Portal(ResourceContext ctx, PortalConfig config)
      : ctx_(std::move(ctx)),
        config_(std::move(config)),
        where_(UrlForMessages(config_.url)),
        http_(NewHttpClient({.max_idle_per_host = kPortalIdleConnections,
                             .max_response_bytes = kPortalMaxResponse})) {
    sender_ = std::thread([this] { SendLoop(); });
  }
  ~Portal() override { Stop(); }

  // The target moved (another domain, a new token): the queue stays and is
  // sent to the new address at once.
  bool Update(const ResourceConfigMap& configurations) override {
    Result<PortalConfig> config = ParsePortalConfig(configurations);
    if (!config.ok()) return false;
    std::lock_guard lock(mu_);
    if (stopping_) return false;
    if (config->url != config_.url) {
      LOG_INFO("{}: portal: the link moves from {} to {} with {} cast(s) queued", ctx_.instance_id,
               where_, UrlForMessages(config->url), queue_.size());
    }
    config_ = std::move(*config);
    where_ = UrlForMessages(config_.url);
    link_down_ = false;
    retarget_ = true;
    work_.notify_all();  // out of a backoff wait
    room_.NotifyAll();   // queue_length may have grown
    return true;
  }

  Status Cast(std::string_view source, std::string_view payload) override {
    return CastWait(source, payload, kNoWait);
  }

  Status CastWait(std::string_view /*source*/, std::string_view payload,
                  WaitUntil wait_until) override {
    if (payload.size() > kMaxPortalPayload) {
      return InvalidArgument("portal: the payload is over 1 MiB");
    }
    std::unique_lock lock(mu_);
    return room_.Wait(
        lock, wait_until,
        [&]() -> std::optional<Status> {
          if (stopping_) return Unavailable("portal: the link to " + where_ + " is stopping");
          if (queue_.size() >= config_.queue_length ||
              (!queue_.empty() && queued_bytes_ + payload.size() > kPortalQueueBytes)) {
            return std::nullopt;
          }
          queue_.emplace_back(payload);
          queued_bytes_ += payload.size();
          if (sender_idle_) work_.notify_one();
          return OkStatus();
        },
        [&] {
          return ResourceExhausted("portal: the link to " + where_ + " is full (" +
                                   std::to_string(queue_.size()) + " casts waiting)");
        });
  }

  Result<std::string> Call(std::string_view /*source*/, std::string_view payload,
                           std::chrono::milliseconds timeout) override {
    PortalCounters& counters = GlobalPortalCounters();
    Result<std::string> r = PostCall(payload, timeout);
    (r.ok() ? counters.calls_ok : counters.calls_error).fetch_add(1, std::memory_order_relaxed);
    return r;
  }

  void Stop() override {
    {
      std::unique_lock lock(mu_);
      if (stopping_) return;
      stopping_ = true;
      calls_stopping_.store(true, std::memory_order_relaxed);
      work_.notify_all();
      room_.WakeAll();
      // The answer to a batch in flight says which of its events arrived;
      // it gets a moment, not its whole timeout.
      idle_.wait_for(lock, kPortalStopGrace, [this] { return !in_flight_; });
    }
    stop_.request_stop();  // cuts a batch still in flight and every call
    if (sender_.joinable()) sender_.join();
    size_t dropped = 0;
    std::string where;
    {
      std::lock_guard lock(mu_);
      dropped = queue_.size();
      queue_.clear();
      queued_bytes_ = 0;
      where = where_;
    }
    if (dropped > 0) {
      GlobalPortalCounters().events_dropped.fetch_add(dropped, std::memory_order_relaxed);
      LOG_WARN("{}: portal: {} cast(s) queued for {} dropped at stop", ctx_.instance_id, dropped,
               where);
    }
  }

 private:
  // What the other domain made of one batch.
  struct BatchOutcome {
    size_t accepted = 0;   // the first this many arrived: off the queue
    bool success = false;  // all of them: no backoff
  };

  // Where requests go; a copy taken under mu_ (Update may change it).
  struct Target {
    std::string url;
    std::string token;
    std::string where;
    std::chrono::milliseconds timeout{0};
  };
  Target TargetLocked() const { return {config_.url, config_.token, where_, config_.timeout}; }
  Target CurrentTarget() {
    std::lock_guard lock(mu_);
    return TargetLocked();
  }

  static HttpHeaders Headers(const Target& t, std::string_view mode) {
    return {{std::string(kPortalHeader), std::string(mode)},
            {std::string(kPortalTokenHeader), t.token},
            {"Content-Type", "application/octet-stream"}};
  }

  // The sender thread.
  void SendLoop() {
    std::chrono::milliseconds backoff = kPortalMinBackoff;
    std::unique_lock lock(mu_);
    for (;;) {
      sender_idle_ = true;
      work_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      sender_idle_ = false;
      if (stopping_) return;
      // The head of the queue. Only this thread removes events and a deque
      // keeps its elements in place when others are added at the back, so
      // the views stay valid while the lock is released.
      std::vector<std::string_view> batch;
      size_t bytes = 0;
      for (const std::string& e : queue_) {
        if (batch.size() >= config_.batch_events || batch.size() >= kMaxPortalEvents) break;
        if (!batch.empty() && bytes + e.size() > kPortalBatchBytes) break;
        batch.push_back(e);
        bytes += e.size();
      }
      in_flight_ = true;
      retarget_ = false;
      Target target = TargetLocked();
      lock.unlock();
      BatchOutcome outcome = PostBatch(target, EncodePortalBatch(batch), batch.size());
      lock.lock();
      in_flight_ = false;
      idle_.notify_all();
      for (size_t i = 0; i < outcome.accepted; ++i) {
        queued_bytes_ -= queue_.front().size();
        queue_.pop_front();
      }
      if (outcome.accepted > 0) room_.NotifyAll();
      if (outcome.success) {
        backoff = kPortalMinBackoff;
        continue;
      }
      if (retarget_) {  // moved while this batch was out: try the new address now
        backoff = kPortalMinBackoff;
        continue;
      }
      ctx_.clock->WaitFor(lock, work_, backoff, [this] { return stopping_ || retarget_; });
      backoff = retarget_ ? kPortalMinBackoff : std::min(backoff * 2, kPortalMaxBackoff);
    }
  }

  // Sender thread; without the lock.
  BatchOutcome PostBatch(const Target& target, const std::string& body, size_t n) {
    PortalCounters& counters = GlobalPortalCounters();
    counters.batches.fetch_add(1, std::memory_order_relaxed);
    Result<HttpResponse> r = http_->Send({.method = "POST",
                                          .url = target.url,
                                          .body = body,
                                          .headers = Headers(target, "cast"),
                                          .timeout = target.timeout,
                                          .cancel = stop_.get_token()});
    if (!r.ok()) {
      // Else: cut by Stop.
      if (!stop_.stop_requested()) LinkFailed(target, r.status().message(), n);
      return {};
    }
    std::optional<size_t> accepted = AcceptedOf(*r, n);
    if (accepted && (r->status == 200 || r->status == 503)) {
      LinkAnswered(target);
      counters.events_sent.fetch_add(*accepted, std::memory_order_relaxed);
      if (r->status == 200 && *accepted == n) return {n, true};
      counters.events_refused.fetch_add(n - *accepted, std::memory_order_relaxed);
      RemoteError e = RemoteErrorOf(*r);
      // "full" is the flow control between the domains; anything else (the
      // target not running, its log down) is worth a look.
      if (e.code != "full") {
        ctx_.report_failure("portal: " + target.where + " took " + std::to_string(*accepted) +
                            " of " + std::to_string(n) + " events (" + e.message +
                            "); sending the rest again");
      }
      return {*accepted, false};
    }
    std::string what = DescribeHttpError(*r);
    if (r->status == 404) what += " (the other domain's portal ingress is not running yet?)";
    if (r->status == 403) what += " (the other domain does not have this link's token yet?)";
    LinkFailed(target, what, n);
    return {};
  }

  void LinkFailed(const Target& target, const std::string& what, size_t n) {
    GlobalPortalCounters().link_errors.fetch_add(1, std::memory_order_relaxed);
    {
      std::lock_guard lock(mu_);
      link_down_ = true;
    }
    ctx_.report_failure("portal: the link to " + target.where + " is down: POST of " +
                        std::to_string(n) + " event(s) failed: " + what + "; retrying");
  }

  void LinkAnswered(const Target& target) {
    {
      std::lock_guard lock(mu_);
      if (!link_down_) return;
      link_down_ = false;
    }
    LOG_INFO("{}: portal: the link to {} is back", ctx_.instance_id, target.where);
  }

  // Any thread.
  Result<std::string> PostCall(std::string_view payload, std::chrono::milliseconds timeout) {
    Target target = CurrentTarget();
    const std::string& where = target.where;
    if (calls_stopping_.load(std::memory_order_relaxed)) {
      return Unavailable("portal: the link to " + where + " is stopping");
    }
    if (payload.size() > kMaxPortalPayload) {
      return InvalidArgument("portal: the payload is over 1 MiB");
    }
    std::chrono::milliseconds ms(std::clamp<int64_t>(timeout.count(), 1, kPortalMaxCallMs));
    HttpHeaders headers = Headers(target, "call");
    headers.emplace_back(std::string(kPortalTimeoutHeader), std::to_string(ms.count()));
    Result<HttpResponse> r = http_->Send({.method = "POST",
                                          .url = target.url,
                                          .body = payload,
                                          .headers = std::move(headers),
                                          .timeout = ms + kPortalCallSlack,
                                          .cancel = stop_.get_token()});
    if (!r.ok()) {
      if (stop_.stop_requested()) {
        return Unavailable("portal: the link to " + where + " stopped during the call");
      }
      GlobalPortalCounters().link_errors.fetch_add(1, std::memory_order_relaxed);
      if (r.status().code() == Code::kDeadlineExceeded) {
        return DeadlineExceeded("portal: no answer from " + where + " within " +
                                std::to_string((ms + kPortalCallSlack).count()) + " ms");
      }
      return Unavailable("portal: cannot reach " + where + ": " + r.status().message());
    }
    if (r->status == 200) return std::move(r->body);
    RemoteError e = RemoteErrorOf(*r);
    std::string what = "portal: " + where + ": " + e.message;
    switch (r->status) {
      case 504:
        return DeadlineExceeded(what);
      case 502:
        return Internal(what);
      case 503:
        return e.code == "full" ? ResourceExhausted(what) : Unavailable(what);
      default:
        break;
    }
    GlobalPortalCounters().link_errors.fetch_add(1, std::memory_order_relaxed);
    if (r->status == 403) {
      return Unavailable(what + " (the other domain does not have this link's token yet?)");
    }
    if (r->status == 404) {
      return Unavailable(what + " (the other domain's portal ingress is not running yet?)");
    }
    return Internal(what);
  }

  ResourceContext ctx_;
  PortalConfig config_;                     // guarded by mu_ (Update)
  std::string where_;                       // the URL for messages; guarded by mu_
  const std::unique_ptr<HttpClient> http_;  // Send from several threads at once
  std::stop_source stop_;                   // Stop: cuts what is in flight
  std::atomic<bool> calls_stopping_{false};

  std::mutex mu_;
  std::condition_variable work_;   // events queued, or stopping (the sender waits)
  std::condition_variable idle_;   // the batch in flight was answered (Stop waits)
  RoomWaiter room_;                // events left the queue, or stopping (CastWait waits)
  std::deque<std::string> queue_;  // the head is the batch in flight, if any
  uint64_t queued_bytes_ = 0;
  bool stopping_ = false;
  bool sender_idle_ = false;
  bool in_flight_ = false;
  bool link_down_ = false;
  bool retarget_ = false;  // Update changed the address since the last batch went out
  std::thread sender_;     // last: started once the members above exist
};

}  // namespace

PortalCounters& GlobalPortalCounters() {
  static PortalCounters counters;
  return counters;
}

std::unique_ptr<Resource> NewPortal(ResourceContext ctx, PortalConfig config) {
  return std::make_unique<Portal>(std::move(ctx), std::move(config));
}

}  // namespace aether::workflow::resources
