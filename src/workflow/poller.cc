#include "workflow/poller.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <optional>
#include <utility>

#include "common/backoff.h"
#include "common/json_util.h"
#include "common/log.h"
#include "protocol/instance_status.h"

namespace aether::workflow {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;

// How often the poll thread, before the node has joined, checks for a stop.
constexpr milliseconds kJoinPoll{100};

// Logs a change of a loop's link state once, not per attempt.
class LinkState {
 public:
  LinkState(const EndpointList& urls, std::string what) : urls_(urls), what_(std::move(what)) {}
  void Up() {
    if (state_ == kDown) LOG_INFO("control plane {}: {} ok again", urls_.current(), what_);
    state_ = kUp;
  }
  void Down(const Status& why) {
    if (state_ != kDown) {
      LOG_WARN("control plane {}: {} failed ({}); retrying quietly", urls_.Joined(), what_,
               why.message());
    }
    state_ = kDown;
  }

 private:
  enum { kStarting, kUp, kDown } state_ = kStarting;
  const EndpointList& urls_;
  const std::string what_;
};

}  // namespace

Poller::Poller(PollerOptions options)
    : options_(std::move(options)),
      // The poll's, the status post's and an event post's connections.
      own_http_(options_.http != nullptr ? nullptr : NewHttpClient({.max_idle_per_host = 3})),
      http_(options_.http != nullptr ? *options_.http : *own_http_) {}

Poller::~Poller() { Stop(); }

void Poller::Start(WorkflowHost& host) {
  host_ = &host;
  poll_thread_ = std::thread([this] { PollLoop(); });
  status_thread_ = std::thread([this] { StatusLoop(); });
}

void Poller::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    if (options_.events_dropped != nullptr) {
      options_.events_dropped->Inc(static_cast<double>(events_.size()));
    }
    events_.clear();
  }
  cv_.notify_all();
  stop_.request_stop();
  if (poll_thread_.joinable()) poll_thread_.join();
  if (status_thread_.joinable()) status_thread_.join();
}

void Poller::PostEvent(std::string body) {
  {
    std::lock_guard lock(mu_);
    if (stopping_ || events_.size() >= options_.event_queue) {
      if (options_.events_dropped != nullptr) options_.events_dropped->Inc();
      return;
    }
    events_.push_back(std::move(body));
  }
  cv_.notify_all();
}

void Poller::StatusChanged() {
  {
    std::lock_guard lock(mu_);
    status_now_ = true;
  }
  cv_.notify_all();
}

int64_t Poller::revision() const {
  std::lock_guard lock(mu_);
  return revision_;
}

int64_t Poller::status_posts() const {
  std::lock_guard lock(mu_);
  return status_posts_;
}

bool Poller::Sleep(milliseconds d) {
  std::unique_lock lock(mu_);
  options_.clock->WaitFor(lock, cv_, d, [&] { return stopping_; });
  return stopping_;
}

Result<HttpResponse> Poller::Send(std::string_view method, const std::string& path,
                                  std::string_view body, milliseconds timeout, Retry retry) {
  std::string secret = options_.identity->secret();
  if (secret.empty()) return Unavailable("this node has not joined the control plane yet");
  return options_.endpoints->Send(http_,
                                  {.method = std::string(method),
                                   .url = path,
                                   .body = body,
                                   .headers = {{"Authorization", "Bearer " + secret},
                                               {"X-Aether-Node", options_.identity->node_id()}},
                                   .timeout = timeout,
                                   .cancel = stop_.get_token()},
                                  {.retry = retry});
}

void Poller::Apply(protocol::Assignments&& a) {
  if (options_.peers) options_.peers(std::move(a.peers));
  host_->Apply(std::move(a.instances));
}

void Poller::PollLoop() {
  Backoff backoff(options_.backoff_initial, options_.backoff_max);
  LinkState link(*options_.endpoints, "workflow assignments");
  std::optional<int64_t> since;
  const milliseconds timeout =
      std::chrono::duration_cast<milliseconds>(options_.wait) + options_.call_timeout;
  const std::string base = "/node/workflows?node_id=" + UrlEncode(options_.identity->node_id());
  bool refused = false;  // the credential is refused: the instances are stopped
  // Until the node has joined (the control link registers it) there is
  // nothing to ask with.
  while (options_.identity->WaitForSecret(kJoinPoll).empty()) {
    std::lock_guard lock(mu_);
    if (stopping_) return;
  }
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    std::string path = base;
    if (since) {
      path += "&since=" + std::to_string(*since) + "&wait=" + std::to_string(options_.wait.count());
    }
    const auto asked_at = std::chrono::steady_clock::now();
    Result<HttpResponse> r = Send("GET", path, {}, timeout);
    if (stop_.stop_requested()) return;  // cancelled: not worth a log line
    Status st = !r.ok()                                ? r.status()
                : r->status == 404                     ? NotFound(DescribeHttpError(*r))
                : r->status == 401 || r->status == 403 ? PermissionDenied(DescribeHttpError(*r))
                : r->status != 200                     ? Unavailable(DescribeHttpError(*r))
                                                       : OkStatus();
    Result<protocol::Assignments> a =
        st.ok() ? protocol::ParseAssignments(r->body) : Result<protocol::Assignments>(st);
    if (!a.ok() && a.status().code() == Code::kPermissionDenied && !refused) {
      // Removed by an operator (or the id is another node's now): the
      // instances were placed elsewhere; running them here too would
      // duplicate them.
      LOG_ERROR(
          "control plane {} refuses this node's credential ({}); stopping its workflow "
          "instances",
          options_.endpoints->current(), a.status().message());
      refused = true;
      Apply(protocol::Assignments{});
    }
    if (!a.ok()) {
      // 404: this node is not registered (yet); the control link registers
      // it, so that is no reason to warn.
      if (a.status().code() != Code::kNotFound) link.Down(a.status());
      since.reset();  // start over with a full answer
      if (Sleep(backoff.Next())) return;
      continue;
    }
    link.Up();
    backoff.Reset();
    refused = false;
    since = a->revision;
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      revision_ = a->revision;
    }
    if (options_.observe) options_.observe(*a, asked_at);
    Apply(std::move(*a));
  }
}

void Poller::StatusLoop() {
  Backoff backoff(options_.backoff_initial, options_.backoff_max);
  LinkState status_link(*options_.endpoints, "workflow status");
  LinkState event_link(*options_.endpoints, "workflow events");
  std::string last_sent;
  Clock& clock = *options_.clock;
  Clock::TimePoint last_time{};
  Clock::TimePoint retry_at{};
  for (;;) {
    std::string event;
    bool now = false;
    {
      std::unique_lock lock(mu_);
      clock.WaitFor(lock, cv_, options_.status_interval,
                    [&] { return stopping_ || status_now_ || !events_.empty(); });
      if (stopping_) return;
      now = std::exchange(status_now_, false);
      if (!events_.empty()) {
        event = std::move(events_.front());
        events_.pop_front();
      }
    }
    if (!event.empty()) {
      Result<HttpResponse> r =
          Send("POST", "/callback", event, options_.call_timeout, Retry::kIfNotSent);
      if (!r.ok() && stop_.stop_requested()) {  // cancelled: dropped, like the queued ones
        if (options_.events_dropped != nullptr) options_.events_dropped->Inc();
        return;
      }
      Status st = !r.ok()                                  ? r.status()
                  : (r->status == 200 || r->status == 201) ? OkStatus()
                                                           : Unavailable(DescribeHttpError(*r));
      if (st.ok()) {
        event_link.Up();
      } else {
        event_link.Down(st);
        if (options_.events_dropped != nullptr) options_.events_dropped->Inc();
      }
    }
    auto t = clock.Now();
    if (t < retry_at && !now) continue;
    if (options_.identity->secret().empty()) continue;  // not joined yet
    std::string body =
        protocol::EncodeStatusReport({options_.identity->node_id(), host_->Statuses()});
    bool changed = body != last_sent;
    bool stale = t - last_time >= options_.status_refresh;
    if (!changed && !stale) continue;
    Result<HttpResponse> r = Send("POST", "/node/workflows/status", body, options_.call_timeout);
    if (stop_.stop_requested()) return;
    Status st = !r.ok()            ? r.status()
                : r->status == 200 ? OkStatus()
                                   : Unavailable(DescribeHttpError(*r));
    if (st.ok()) {
      status_link.Up();
      backoff.Reset();
      last_sent = std::move(body);
      last_time = t;
      retry_at = {};
      std::lock_guard lock(mu_);
      ++status_posts_;
    } else {
      // 404: the control plane does not know this node yet; the control
      // link registers it, so the next attempt will do.
      status_link.Down(st);
      retry_at = t + backoff.Next();
    }
  }
}

}  // namespace aether::workflow
