#include <algorithm>
#include <utility>

#include "common/log.h"
#include "workflow/internal/function_actor.h"
#include "workflow/internal/host_impl.h"
#include "workflow/resources/portal.h"

namespace aether::workflow {

using internal::Actor;
using internal::HostImpl;

Result<std::unique_ptr<WorkflowHost>> WorkflowHost::Create(WorkflowHostOptions options) {
  if (options.engine == nullptr) return InvalidArgument("workflow host: no wasm engine");
  if (options.mailbox_length == 0) return InvalidArgument("workflow host: mailbox_length is 0");
  if (options.memory_limit == 0) return InvalidArgument("workflow host: memory_limit is 0");
  if (options.timeout.count() <= 0) return InvalidArgument("workflow host: timeout must be > 0");
  return std::unique_ptr<WorkflowHost>(std::make_unique<HostImpl>(std::move(options)));
}

namespace internal {

namespace {

bool NeedsRestart(const InstanceAssignment& a, const InstanceAssignment& b) {
  return a.function != b.function || a.sha256 != b.sha256 || a.class_type != b.class_type ||
         a.configurations != b.configurations || a.init_payload != b.init_payload ||
         a.memory_limit != b.memory_limit || a.timeout_ms != b.timeout_ms;
}

bool IsIngress(const InstanceAssignment& a) {
  return a.kind == InstanceAssignment::Kind::kResource && a.class_type == "http-ingress";
}

// Actors differ by type: a function, a resource, an http-ingress.
int ActorType(const InstanceAssignment& a) {
  if (a.kind == InstanceAssignment::Kind::kFunction) return 0;
  return IsIngress(a) ? 2 : 1;
}

void AddCounts(Actor::Counts& to, const Actor::Counts& c) {
  to.events += c.events;
  to.failures += c.failures;
  to.restarts += c.restarts;
  to.dropped += c.dropped;
  to.refused += c.refused;
  to.waited += c.waited;
  to.duplicates += c.duplicates;
  to.given_up += c.given_up;
}

}  // namespace

struct HostImpl::MetricFamilies {
  explicit MetricFamilies(MetricsRegistry& r)
      : instances(r.AddCollectedGauge("aether_workflow_instances",
                                      "Workflow instances on this node by state.")),
        events(r.AddCollectedCounter("aether_workflow_events_total",
                                     "Events handled by workflow instances.")),
        failures(r.AddCollectedCounter("aether_workflow_failures_total",
                                       "Events that failed (traps, missing handlers).")),
        restarts(r.AddCollectedCounter("aether_workflow_restarts_total",
                                       "Instance restarts after a trap.")),
        dropped(
            r.AddCollectedCounter("aether_dataplane_dropped_total",
                                  "Events dropped: full mailboxes or links, unknown instances.")),
        refused(r.AddCollectedCounter(
            "aether_workflow_refused_total",
            "Events an http-ingress refused because its target was full (503 to the client).")),
        waited(r.AddCollectedCounter(
            "aether_workflow_backpressure_waits_total",
            "Sends held for room in a full mailbox, link or resource queue (flow control).")),
        duplicates(r.AddCollectedCounter(
            "aether_workflow_duplicates_total",
            "At-least-once events delivered again to an instance that had handled them "
            "(skipped).")),
        given_up(r.AddCollectedCounter(
            "aether_workflow_given_up_total",
            "At-least-once events whose handler failed on every attempt (max_deliver).")),
        telemetry(r.AddCollectedGauge("aether_workflow_telemetry",
                                      "Last value of an instance's telemetry sample.")),
        portal_events(r.AddCollectedCounter(
            "aether_portal_events_total",
            "Casts on links to other domains: sent (accepted there), refused (answered full, "
            "sent again), dropped (still queued when the portal stopped).")),
        portal_batches(r.AddCollectedCounter("aether_portal_batches_total",
                                             "Batches of casts posted to other domains.")),
        portal_calls(r.AddCollectedCounter("aether_portal_calls_total",
                                           "Calls through links to other domains, by result.")),
        portal_link_errors(r.AddCollectedCounter(
            "aether_portal_link_errors_total",
            "Failed POSTs to other domains: no connection, unexpected answers.")) {}
  CollectedFamily &instances, &events, &failures, &restarts, &dropped, &refused, &waited,
      &duplicates, &given_up, &telemetry, &portal_events, &portal_batches, &portal_calls,
      &portal_link_errors;
};

HostImpl::HostImpl(WorkflowHostOptions options)
    : core_(std::make_unique<Core>(std::move(options))) {
  if (MetricsRegistry* registry = core_->options().metrics) {
    metric_families_ = std::make_unique<MetricFamilies>(*registry);
    scrape_hook_ = registry->OnScrape([this](Scrape& scrape) { CollectMetrics(scrape); });
  }
}

HostImpl::~HostImpl() {
  scrape_hook_.Reset();  // a scrape in progress finishes before the table goes
  Stop();
}

bool HostImpl::IsLocal(const OutputTarget& t) const {
  return t.node_id.empty() || t.node_id == core_->options().node_id;
}

std::shared_ptr<Actor> HostImpl::Find(std::string_view id) const {
  std::shared_lock lock(table_mu_);
  auto it = actors_.find(id);
  return it == actors_.end() ? nullptr : it->second;
}

std::shared_ptr<Actor> HostImpl::MakeActor(const InstanceAssignment& a) {
  switch (ActorType(a)) {
    case 0:
      return std::make_shared<FunctionActor>(*core_, a);
    case 1:
      return std::make_shared<ResourceActor>(*core_, a);
    default:
      return std::make_shared<IngressActor>(*core_, a);
  }
}

void HostImpl::Apply(std::vector<InstanceAssignment> instances) {
  std::lock_guard apply(apply_mu_);
  if (stopped_) return;
  // Only Apply changes actors_, so reading it here needs no table lock.
  std::unordered_map<std::string, std::shared_ptr<Actor>, StringHash, std::equal_to<>> table;
  std::vector<std::shared_ptr<Actor>> to_start, to_stop;
  std::vector<const InstanceAssignment*> wanted;
  {
    std::unordered_map<std::string_view, const InstanceAssignment*> by_id;
    for (const InstanceAssignment& a : instances) by_id[a.id] = &a;  // the last one wins
    for (const auto& [id, actor] : actors_) {
      if (!by_id.contains(id)) to_stop.push_back(actor);
    }
    for (const auto& [id, a] : by_id) wanted.push_back(a);
  }
  for (const InstanceAssignment* a : wanted) {
    auto it = actors_.find(a->id);
    if (it != actors_.end()) {
      InstanceAssignment old = it->second->assignment();
      // A change of delivery changes where the actor's events come from: a
      // new actor, like a change of type. So does another incarnation (the
      // workflow was deleted and created again under the same name between
      // two assignments): the new one starts empty, with its own stream and
      // buckets.
      if (ActorType(old) == ActorType(*a) && old.delivery == a->delivery &&
          old.incarnation == a->incarnation) {
        if (NeedsRestart(old, *a)) it->second->Reconfigure(*a);
        table.emplace(a->id, it->second);
        continue;
      }
      to_stop.push_back(it->second);
    }
    std::shared_ptr<Actor> actor = MakeActor(*a);
    table.emplace(a->id, actor);
    to_start.push_back(actor);
  }

  // Rewire every instance (outputs may name instances created just now). The
  // wiring is swapped whole: a mailbox survives a rewire.
  std::map<std::pair<std::string, std::string>, std::shared_ptr<IngressActor>, std::less<>> ingress;
  for (const InstanceAssignment* a : wanted) {
    const std::shared_ptr<Actor>& actor = table.at(a->id);
    auto wiring = std::make_shared<Wiring>();
    for (const auto& [output, component] : a->output_components) {
      (*wiring)[output].component = component;
    }
    for (const auto& [output, targets] : a->outputs) {
      Route& route = (*wiring)[output];
      for (const OutputTarget& t : targets) {
        Target target{t, nullptr, !IsLocal(t)};
        if (!target.remote) {
          auto found = table.find(t.instance);
          if (found != table.end()) target.local = found->second;
        }
        route.targets.push_back(std::move(target));
      }
    }
    actor->SetWiring(std::move(wiring));
    if (IsIngress(*a)) {
      Result<HttpIngressConfig> config = ParseHttpIngressConfig(a->configurations, a->component);
      // An invalid configuration keeps the path of the component name: the
      // actor reports "failed" and requests get 503 instead of 404.
      std::string path = config.ok() ? config->path : a->component;
      ingress[{a->workflow, path}] = std::static_pointer_cast<IngressActor>(actor);
    }
  }

  {
    std::unique_lock lock(table_mu_);
    for (const auto& actor : to_stop) AddCounts(retired_, actor->counts());
    actors_ = std::move(table);
    ingress_ = std::move(ingress);
  }
  for (const auto& actor : to_stop) {
    actor->SetWiring(nullptr);  // drops its references to other actors
    actor->RequestStop();
  }
  for (const auto& actor : to_start) actor->Start();
  if (!to_stop.empty() || !to_start.empty()) core_->StateChanged();
}

Status HostImpl::Cast(std::string_view instance, std::string_view source,
                      std::string_view payload) {
  std::shared_ptr<Actor> actor = Find(instance);
  if (actor == nullptr) {
    unknown_dropped_.fetch_add(1, std::memory_order_relaxed);
    return NotFound("no instance " + std::string(instance) + " on this node");
  }
  return actor->Cast(source, payload, kNoWait);
}

void HostImpl::Call(std::string_view instance, std::string_view source, std::string_view payload,
                    std::chrono::milliseconds timeout, ReplyFn done) {
  std::shared_ptr<Actor> actor = Find(instance);
  if (actor == nullptr) {
    done(NotFound("no instance " + std::string(instance) + " on this node"));
    return;
  }
  Target t{OutputTarget{std::string(instance), core_->options().node_id, ""}, std::move(actor),
           false};
  core_->CallTo(t, source, payload, timeout, std::move(done));
}

std::vector<InstanceStatus> HostImpl::Statuses() const { return SortedStatuses(nullptr); }

std::vector<InstanceStatus> HostImpl::SortedStatuses(Actor::Counts* totals) const {
  std::vector<std::shared_ptr<Actor>> actors;
  {
    std::shared_lock lock(table_mu_);
    if (totals != nullptr) *totals = retired_;
    actors.reserve(actors_.size());
    for (const auto& [id, actor] : actors_) actors.push_back(actor);
  }
  std::vector<InstanceStatus> out;
  out.reserve(actors.size());
  for (const auto& actor : actors) {
    if (totals != nullptr) AddCounts(*totals, actor->counts());
    out.push_back(actor->Snapshot());
  }
  std::sort(out.begin(), out.end(),
            [](const InstanceStatus& a, const InstanceStatus& b) { return a.id < b.id; });
  return out;
}

void HostImpl::CollectMetrics(Scrape& scrape) const {
  const MetricFamilies& f = *metric_families_;
  Actor::Counts totals;
  std::vector<InstanceStatus> statuses = SortedStatuses(&totals);
  totals.dropped += unknown_dropped_.load(std::memory_order_relaxed) +
                    link_dropped_.load(std::memory_order_relaxed);
  // Every state, also at 0, in name order.
  std::map<std::string_view, int64_t> states{
      {"starting", 0}, {"running", 0}, {"restarting", 0}, {"failed", 0}};
  for (const InstanceStatus& s : statuses) ++states[s.state];
  for (const auto& [state, n] : states) {
    scrape.Add(f.instances, {{"state", state}}, static_cast<double>(n));
  }
  scrape.Add(f.events, static_cast<double>(totals.events));
  scrape.Add(f.failures, static_cast<double>(totals.failures));
  scrape.Add(f.restarts, static_cast<double>(totals.restarts));
  scrape.Add(f.dropped, static_cast<double>(totals.dropped));
  scrape.Add(f.refused, static_cast<double>(totals.refused));
  scrape.Add(f.waited, static_cast<double>(totals.waited));
  scrape.Add(f.duplicates, static_cast<double>(totals.duplicates));
  scrape.Add(f.given_up, static_cast<double>(totals.given_up));
  // The portals' counters are the process's (resources/portal.h).
  const resources::PortalCounters& portal = resources::GlobalPortalCounters();
  auto value = [](const std::atomic<uint64_t>& v) {
    return static_cast<double>(v.load(std::memory_order_relaxed));
  };
  scrape.Add(f.portal_events, {{"result", "sent"}}, value(portal.events_sent));
  scrape.Add(f.portal_events, {{"result", "refused"}}, value(portal.events_refused));
  scrape.Add(f.portal_events, {{"result", "dropped"}}, value(portal.events_dropped));
  scrape.Add(f.portal_batches, value(portal.batches));
  scrape.Add(f.portal_calls, {{"result", "ok"}}, value(portal.calls_ok));
  scrape.Add(f.portal_calls, {{"result", "error"}}, value(portal.calls_error));
  scrape.Add(f.portal_link_errors, value(portal.link_errors));
  for (const InstanceStatus& s : statuses) {
    std::string_view workflow = std::string_view(s.id).substr(0, s.id.find('/'));
    for (const auto& [name, value] : s.telemetry) {
      scrape.Add(f.telemetry, {{"workflow", workflow}, {"instance", s.id}, {"name", name}}, value);
    }
  }
}

void HostImpl::SetRemote(RemoteLink* remote) { core_->set_remote(remote); }

void HostImpl::AddDataplaneDropped(int64_t n) {
  link_dropped_.fetch_add(n, std::memory_order_relaxed);
}

void HostImpl::Stop() {
  std::lock_guard apply(apply_mu_);
  if (stopped_) return;
  stopped_ = true;
  std::vector<std::shared_ptr<Actor>> actors;
  {
    std::unique_lock lock(table_mu_);
    for (auto& [id, actor] : actors_) actors.push_back(actor);
    ingress_.clear();
  }
  for (const auto& actor : actors) actor->RequestStop();
  // handle_stop runs on the pool; bounded so a wedged guest cannot hang the
  // shutdown (its own timeout ends it anyway).
  if (!core_->WaitAllStopped(core_->options().timeout * 2 + std::chrono::seconds(1))) {
    LOG_WARN("workflow host: some instances did not stop in time");
  }
  {
    std::unique_lock lock(table_mu_);
    actors_.clear();
  }
  for (const auto& actor : actors) actor->SetWiring(nullptr);
  actors.clear();
  core_->pool().Stop();
  core_->timer().Stop();
}

}  // namespace internal
}  // namespace aether::workflow
