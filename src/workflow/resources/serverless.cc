#include "workflow/resources/serverless.h"

#include <stop_token>
#include <utility>

#include "common/http_client.h"
#include "common/log.h"
#include "common/work_queue.h"
#include "workflow/resources/call_slot.h"
#include "workflow/resources/egress_policy.h"
#include "workflow/resources/http_egress.h"  // kEgressQueueBytes

namespace aether::workflow::resources {
namespace {

constexpr size_t kErrorBodyPreview = 200;
// An answer becomes one event: no larger than a payload may be.
constexpr uint64_t kServerlessMaxResponse = 1u << 20;
constexpr const char* kOut = "out";
constexpr const char* kErr = "err";

class Serverless final : public Resource {
 public:
  Serverless(ResourceContext ctx, ServerlessClass cls)
      : ctx_(std::move(ctx)),
        cls_(std::move(cls)),
        where_(UrlForMessages(cls_.url)),
        // One connection kept: posts go one at a time to one server.
        http_(
            NewHttpClient({.max_idle_per_host = 1, .max_response_bytes = kServerlessMaxResponse})),
        queue_(WorkQueueOptions{cls_.class_type + ": the post queue", 1,
                                ctx_.limits.http_egress_queue_length, kEgressQueueBytes}) {}
  ~Serverless() override { Stop(); }

  Status Cast(std::string_view source, std::string_view payload) override {
    return CastWait(source, payload, kNoWait);
  }

  Status CastWait(std::string_view /*source*/, std::string_view payload,
                  WaitUntil wait_until) override {
    return queue_.Post([this, body = std::string(payload)] { Forward(Post(body)); }, payload.size(),
                       wait_until);
  }

  Result<std::string> Call(std::string_view /*source*/, std::string_view payload,
                           std::chrono::milliseconds timeout) override {
    return CallOnQueue(
        queue_, [this, body = std::string(payload)] { return Post(body); }, payload.size(), timeout,
        cls_.class_type, cls_.class_type + ": no answer from " + where_);
  }

  void Stop() override {
    stop_.request_stop();  // a post in flight ends now, not at its timeout
    size_t dropped = queue_.Stop();
    if (dropped > 0) {
      LOG_WARN("{}: {} queued {} post(s) dropped at stop", ctx_.instance_id, dropped,
               cls_.class_type);
    }
  }

 private:
  // On the queue's thread: the answer to "out", a failure to "err".
  void Forward(const Result<std::string>& answer) {
    if (stop_.stop_requested()) return;  // cancelled by Stop: nobody's failure
    const char* output = answer.ok() ? kOut : kErr;
    const std::string& payload = answer.ok() ? *answer : answer.status().message();
    Status st = ctx_.cast(output, payload);
    if (st.code() == Code::kNotFound) {
      // EDGELESS drops an event for an unmapped output; a lost error is
      // still worth a line.
      if (!answer.ok()) ctx_.report_failure(answer.status().message());
      return;
    }
    if (!st.ok()) {
      ctx_.report_failure(cls_.class_type + ": cannot cast to \"" + output + "\": " + st.message());
    }
  }

  Result<std::string> Post(const std::string& body) const {
    Result<HttpResponse> r = http_->Send({.method = "POST",
                                          .url = cls_.url,
                                          .body = body,
                                          .headers = {{"Content-Type", "text/plain"}},
                                          .timeout = cls_.timeout,
                                          .cancel = stop_.get_token()});
    if (!r.ok()) {
      return Status(r.status().code(), "error when calling serverless function at " + where_ +
                                           " for resource " + ctx_.component + ": " +
                                           HideUrlQuery(r.status().message(), cls_.url));
    }
    if (r->status < 200 || r->status > 299) {
      std::string preview = r->body.substr(0, kErrorBodyPreview);
      return Internal("error when calling serverless function at " + where_ + " for resource " +
                      ctx_.component + ": status " + std::to_string(r->status) + " returned" +
                      (preview.empty() ? "" : ": " + preview));
    }
    return std::move(r->body);
  }

  ResourceContext ctx_;
  const ServerlessClass cls_;
  const std::string where_;  // without query and fragment, for messages
  const std::unique_ptr<HttpClient> http_;
  std::stop_source stop_;
  WorkQueue queue_;  // last: its thread uses the members above
};

}  // namespace

Result<std::unique_ptr<Resource>> NewServerless(ResourceContext ctx, ServerlessClass cls) {
  // The URL is the operator's, checked when the engine's configuration was
  // read; a bad one here is a bug, not a spec error.
  Result<EgressTarget> target = ParseEgressUrl(cls.url);
  if (!target.ok()) {
    return InvalidArgument(cls.class_type +
                           ": [[workflow.serverless]] function_url: " + target.status().message());
  }
  return std::unique_ptr<Resource>(std::make_unique<Serverless>(std::move(ctx), std::move(cls)));
}

}  // namespace aether::workflow::resources
