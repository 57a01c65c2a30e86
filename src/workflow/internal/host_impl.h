// WorkflowHost's implementation: the table of local instances (read by the
// delivery paths under a shared lock, replaced by Apply) and the ingress
// index.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "workflow/internal/actor.h"
#include "workflow/internal/core.h"
#include "workflow/internal/resource_actor.h"
#include "workflow/workflow_host.h"

namespace aether::workflow::internal {

class HostImpl : public WorkflowHost {
 public:
  explicit HostImpl(WorkflowHostOptions options);
  ~HostImpl() override;

  void Apply(std::vector<InstanceAssignment> instances) override;
  Status Cast(std::string_view instance, std::string_view source,
              std::string_view payload) override;
  void Call(std::string_view instance, std::string_view source, std::string_view payload,
            std::chrono::milliseconds timeout, ReplyFn done) override;
  using WorkflowHost::Ingress;
  void Ingress(std::string_view workflow, std::string_view path, std::string_view method,
               std::string_view idempotency_key, const IngressHttp* http, std::string body,
               std::function<void(IngressReply)> done) override;
  void Portal(std::string_view workflow, std::string_view path, std::string_view method,
              PortalRequest portal, std::string body,
              std::function<void(IngressReply)> done) override;
  std::vector<InstanceStatus> Statuses() const override;
  void SetRemote(RemoteLink* remote) override;
  void AddDataplaneDropped(int64_t n) override;
  void Stop() override;

 private:
  std::shared_ptr<Actor> Find(std::string_view id) const;
  // The ingress serving /wf/{workflow}/{path}; null after answering 404 to `done`.
  std::shared_ptr<IngressActor> FindIngress(std::string_view workflow, std::string_view path,
                                            const std::function<void(IngressReply)>& done) const;
  std::shared_ptr<Actor> MakeActor(const InstanceAssignment& a);
  bool IsLocal(const OutputTarget& t) const;
  // Every instance's status, by id; `totals`, when set, gets the counts of
  // all instances, removed ones included (Actor::counts, without link drops).
  std::vector<InstanceStatus> SortedStatuses(Actor::Counts* totals) const;
  // The scrape hook (options.metrics): reads the instance table under its
  // shared lock and each instance's counters and telemetry, never waiting
  // on a guest, so it is linear in the instances and quick.
  void CollectMetrics(Scrape& scrape) const;

  std::unique_ptr<Core> core_;
  std::mutex apply_mu_;   // one Apply or Stop at a time
  bool stopped_ = false;  // under apply_mu_

  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  mutable std::shared_mutex table_mu_;
  std::unordered_map<std::string, std::shared_ptr<Actor>, StringHash, std::equal_to<>> actors_;
  // (workflow, path) -> the ingress serving it.
  std::map<std::pair<std::string, std::string>, std::shared_ptr<IngressActor>, std::less<>>
      ingress_;
  Actor::Counts retired_;  // counts of removed instances, so the totals never go down

  std::atomic<int64_t> unknown_dropped_{0};  // casts to instances that do not run here
  std::atomic<int64_t> link_dropped_{0};     // reported by the network side

  struct MetricFamilies;
  std::unique_ptr<MetricFamilies> metric_families_;  // null without options.metrics
  ScrapeHook scrape_hook_;                           // reset first in the destructor
};

}  // namespace aether::workflow::internal
