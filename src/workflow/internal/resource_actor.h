// Resource instances: a built-in Resource (resource.h) behind an actor's
// mailbox, and the http-ingress, which the host serves itself.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>

#include "common/resource_config.h"
#include "workflow/internal/actor.h"
#include "workflow/resource.h"

namespace aether::workflow::internal {

// Casts and asynchronous calls go through the mailbox (in order, bounded);
// a blocking caller (a guest's aether.call, another resource) calls the
// resource directly on its own thread, since resources are thread-safe.
class ResourceActor : public Actor {
 public:
  using Actor::Actor;
  ~ResourceActor() override;

  std::optional<Result<CallReply>> DirectCall(std::string_view source, std::string_view payload,
                                              std::chrono::milliseconds timeout) override;

 protected:
  Status StartInstance(const InstanceAssignment& a, Failure* trapped) override;
  Outcome Handle(Event& e, CallReply* reply, Failure* failure) override;
  void StopInstance(bool graceful) override;
  bool UpdateInstance(const InstanceAssignment& old, const InstanceAssignment& a) override;

 private:
  std::shared_mutex resource_mu_;  // shared: calls; exclusive: create, stop
  std::unique_ptr<Resource> resource_;
};

// An http-ingress: takes no events; Request() turns an HTTP request into a
// cast or a call to its single output.
class IngressActor : public Actor {
 public:
  using Actor::Actor;
  ~IngressActor() override;

  // Never blocks; `done` runs on any thread. `idempotency_key`, `http`
  // (may be null): see WorkflowHost::Ingress.
  void Request(std::string_view method, std::string_view idempotency_key, const IngressHttp* http,
               std::string body, std::function<void(IngressReply)> done);
  // A request with X-Aether-Portal (WorkflowHost::Portal): a batch of casts
  // or a call from a portal of another domain, for an ingress in portal
  // mode. Never blocks; `done` runs on any thread.
  void Portal(std::string_view method, const PortalRequest& portal, std::string body,
              std::function<void(IngressReply)> done);

 protected:
  Status StartInstance(const InstanceAssignment& a, Failure* trapped) override;
  Outcome Handle(Event& e, CallReply* reply, Failure* failure) override;
  void StopInstance(bool graceful) override;
  bool accepts_events() const override { return false; }

 private:
  std::shared_ptr<const HttpIngressConfig> config() const;
  IngressReply NotRunning() const;  // 503 naming the state
  // The single mapped output; while none is, nullopt, and `done` has the
  // 503 that says so.
  std::optional<std::string> Output(const std::function<void(IngressReply)>& done) const;
  // A 400 when `key` is malformed or this ingress cannot honour it.
  std::optional<IngressReply> CheckIdempotencyKey(std::string_view key,
                                                  const HttpIngressConfig& config) const;
  // A portal's batch of casts to `output`: each event in order, stopping at
  // the first the target refuses (answered with the count taken).
  void PortalCasts(const std::string& output, std::string body,
                   std::function<void(IngressReply)> done);

  mutable std::mutex config_mu_;
  std::shared_ptr<const HttpIngressConfig> config_;  // null while not running
};

// The reply for an error, with the JSON body every error has.
IngressReply IngressError(int status, std::string_view code, std::string_view message);

}  // namespace aether::workflow::internal
