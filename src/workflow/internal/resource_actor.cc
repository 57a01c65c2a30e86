#include "workflow/internal/resource_actor.h"

#include <utility>
#include <vector>

#include "workflow/internal/source_ref.h"

namespace aether::workflow::internal {

ResourceActor::~ResourceActor() = default;

Status ResourceActor::StartInstance(const InstanceAssignment& a, Failure* /*trapped*/) {
  ResourceContext ctx;
  ctx.workflow = a.workflow;
  ctx.incarnation = a.incarnation;
  ctx.component = a.component;
  ctx.instance_id = a.id;
  ctx.data_dir = core_.options().data_dir;
  ctx.configurations = a.configurations;
  ctx.limits = core_.options().resource_limits;
  ctx.kv_buckets = core_.options().kv_buckets;
  ctx.clock = &core_.clock();
  // `this` outlives the resource: StopInstance stops it before the actor goes.
  // A resource casts from its own thread (a timer tick, an http-egress
  // response): held for room downstream like a guest.
  ctx.cast = [this](std::string_view output, std::string_view payload) {
    if (payload.size() > kMaxPayload) return ResourceExhausted("the payload is over 1 MiB");
    return core_.CastFrom(*this, output, payload,
                          std::chrono::steady_clock::now() + core_.options().send_wait);
  };
  ctx.call = [this](std::string_view output, std::string_view payload,
                    std::chrono::milliseconds timeout) -> Result<std::string> {
    if (payload.size() > kMaxPayload) return ResourceExhausted("the payload is over 1 MiB");
    Result<CallReply> r = core_.CallFromBlocking(*this, output, payload, timeout);
    if (!r.ok()) return r.status();
    return std::move(r->bytes);  // a resource reads "no reply" as an empty one
  };
  ctx.outputs = [this] {
    std::vector<std::string> names;
    if (std::shared_ptr<const Wiring> w = wiring()) {
      for (const auto& [name, route] : *w) names.push_back(name);
    }
    return names;
  };
  ctx.report_failure = [this](std::string_view message) { ReportFailure(message); };
  ASSIGN_OR_RETURN(std::unique_ptr<Resource> r, CreateResource(a.class_type, std::move(ctx)));
  std::unique_lock lock(resource_mu_);
  resource_ = std::move(r);
  return OkStatus();
}

Actor::Outcome ResourceActor::Handle(Event& e, CallReply* reply, Failure* failure) {
  std::shared_lock lock(resource_mu_);
  if (resource_ == nullptr) {
    failure->message = "the resource is not running";
    return Outcome::kFailed;
  }
  // Resources name the sending component, not its instance.
  std::string_view source = ParseSourceRef(e.source).component;
  if (!e.reply) {
    Status st = resource_->Cast(source, e.payload);
    if (st.code() == Code::kResourceExhausted) {
      // Its queue is full: hold this actor (its mailbox fills, and so the
      // producers before it wait) rather than lose the event.
      CountWaited();
      Pool::Blocking blocking(core_.pool());
      st = resource_->CastWait(source, e.payload,
                               std::chrono::steady_clock::now() + core_.options().send_wait);
    }
    if (st.ok()) return Outcome::kOk;
    failure->message = st.message();
    return Outcome::kFailed;
  }
  auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(e.deadline - core_.clock().Now());
  Result<std::string> r =
      resource_->Call(source, e.payload, std::max(left, std::chrono::milliseconds(1)));
  if (r.ok()) {
    reply->bytes = std::move(*r);
    return Outcome::kOk;
  }
  failure->message = r.status().message();
  return Outcome::kFailed;
}

std::optional<Result<CallReply>> ResourceActor::DirectCall(std::string_view source,
                                                           std::string_view payload,
                                                           std::chrono::milliseconds timeout) {
  std::shared_lock lock(resource_mu_);
  if (resource_ == nullptr) return Result<CallReply>(Unavailable(id() + " is not running"));
  Result<std::string> r = resource_->Call(source, payload, timeout);
  if (r.ok()) return Result<CallReply>(CallReply{std::move(*r)});
  if (r.status().code() != Code::kDeadlineExceeded) ReportFailure(r.status().message());
  return Result<CallReply>(r.status());
}

bool ResourceActor::UpdateInstance(const InstanceAssignment& old, const InstanceAssignment& a) {
  if (old.class_type != a.class_type) return false;
  std::shared_lock lock(resource_mu_);
  return resource_ != nullptr && resource_->Update(a.configurations);
}

void ResourceActor::StopInstance(bool /*graceful*/) {
  std::unique_ptr<Resource> r;
  {
    std::unique_lock lock(resource_mu_);
    r = std::move(resource_);
  }
  if (r != nullptr) r->Stop();
}

}  // namespace aether::workflow::internal
