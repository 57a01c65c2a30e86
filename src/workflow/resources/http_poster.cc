#include "workflow/resources/http_poster.h"

#include <stop_token>
#include <utility>

#include "common/base64.h"
#include "common/http_client.h"
#include "common/log.h"
#include "common/work_queue.h"
#include "workflow/resources/egress_policy.h"
#include "workflow/resources/http_egress.h"  // kEgressQueueBytes

namespace aether::workflow::resources {
namespace {

constexpr size_t kPosterErrorBodyPreview = 200;
// The answer is dropped: no need to read a large one.
constexpr uint64_t kPosterMaxResponse = 1u << 20;

// EgressPolicy and ParseEgressUrl name http-egress in their messages.
Status AsPosterStatus(const Status& st) {
  std::string_view m = st.message();
  if (m.starts_with("http-poster: ")) return st;
  if (m.starts_with("http-egress: ")) m.remove_prefix(13);
  return Status(st.code(), "http-poster: " + std::string(m));
}

class HttpPoster final : public Resource {
 public:
  HttpPoster(ResourceContext ctx, HttpPosterConfig config, EgressTarget target)
      : ctx_(std::move(ctx)),
        config_(std::move(config)),
        target_(std::move(target)),
        shown_url_(UrlForMessages(config_.url)),
        policy_(config_.allow, config_.node_policy && ctx_.limits.egress_public_by_default),
        http_(NewHttpClient({.max_response_bytes = kPosterMaxResponse})),
        queue_(WorkQueueOptions{"http-poster: the post queue", 1,
                                ctx_.limits.http_egress_queue_length, kEgressQueueBytes}) {}
  ~HttpPoster() override { Stop(); }

  Status Cast(std::string_view source, std::string_view payload) override {
    return CastWait(source, payload, kNoWait);
  }

  Status CastWait(std::string_view /*source*/, std::string_view payload,
                  WaitUntil wait_until) override {
    return queue_.Post(
        [this, body = std::string(payload)] {
          Status st = Post(body);
          // A post that Stop cancelled is no failure of the target.
          if (!st.ok() && !stop_.stop_requested()) ctx_.report_failure(st.message());
        },
        payload.size(), wait_until);
  }

  Result<std::string> Call(std::string_view, std::string_view, std::chrono::milliseconds) override {
    return InvalidArgument("http-poster takes casts; use http-egress to call");
  }

  void Stop() override {
    stop_.request_stop();  // a post in flight ends now, not at its timeout
    size_t dropped = queue_.Stop();
    if (dropped > 0) {
      LOG_WARN("{}: {} queued http-poster post(s) dropped at stop", ctx_.instance_id, dropped);
    }
  }

 private:
  // On the queue's thread. Every error names http-poster.
  Status Post(const std::string& payload) const {
    if (config_.node_policy && !ctx_.limits.egress_public_by_default) {
      return PermissionDenied(
          "http-poster: this resource has no allow list, and this engine's [workflow] "
          "egress_default is \"none\": give it an \"allow\" list");
    }
    std::string decoded;
    if (config_.decode_base64) {
      Result<std::string> d = Base64Decode(payload);
      if (!d.ok()) {
        return InvalidArgument("http-poster: the payload is not valid base64 (decode_base64): " +
                               d.status().message());
      }
      decoded = std::move(*d);
    }
    // The client resolves once and connects only to an address the policy
    // accepted (as http-egress does): the address checked is the one used.
    Result<HttpResponse> r = http_->Send(
        {.method = "POST",
         .url = config_.url,
         .body = config_.decode_base64 ? std::string_view(decoded) : std::string_view(payload),
         .headers = {{"Content-Type", "application/octet-stream"}},
         .timeout = config_.timeout,
         .cancel = stop_.get_token(),
         .check_address = [this](const IpAddress& address) {
           return policy_.CheckAddress(target_, address);
         }});
    if (!r.ok()) {
      // The client's messages carry the URL: keep its query out.
      return AsPosterStatus(
          Status(r.status().code(), HideUrlQuery(r.status().message(), config_.url)));
    }
    if (r->status < 200 || r->status > 299) {
      std::string preview = r->body.substr(0, kPosterErrorBodyPreview);
      return Internal("http-poster: POST " + shown_url_ + " answered " + std::to_string(r->status) +
                      (preview.empty() ? "" : ": " + preview));
    }
    return OkStatus();
  }

  ResourceContext ctx_;
  const HttpPosterConfig config_;
  const EgressTarget target_;
  const std::string shown_url_;  // without query and fragment, for messages
  const EgressPolicy policy_;
  const std::unique_ptr<HttpClient> http_;  // keeps no connections (max_idle_per_host 0)
  std::stop_source stop_;
  WorkQueue queue_;  // last: its thread uses the members above
};

}  // namespace

Result<std::unique_ptr<Resource>> NewHttpPoster(ResourceContext ctx, HttpPosterConfig config) {
  Result<EgressTarget> target = ParseEgressUrl(config.url);
  if (!target.ok()) return AsPosterStatus(target.status());
  // With a list, the host and port are checked now: a post that could never
  // be sent is a configuration error, not a failure per event.
  if (!config.node_policy) {
    Status st = EgressPolicy(config.allow).CheckTarget(*target);
    if (!st.ok()) return AsPosterStatus(st);
  }
  return std::unique_ptr<Resource>(
      std::make_unique<HttpPoster>(std::move(ctx), std::move(config), std::move(*target)));
}

}  // namespace aether::workflow::resources
