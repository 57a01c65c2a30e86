#include "workflow/jetstream_janitor.h"

#include <nats/nats.h>

#include <algorithm>

#include "common/log.h"
#include "workflow/internal/nats_connection.h"

namespace aether::workflow {
namespace {

using internal::NatsConnection;
using SteadyClock = std::chrono::steady_clock;

// A failed sweep is tried again after this long (or the interval, if
// shorter).
constexpr std::chrono::seconds kRetry{30};

bool UsesJetStream(const protocol::InstanceAssignment& a) {
  if (a.delivery == protocol::Delivery::kAtLeastOnce) return true;
  if (a.kind != protocol::InstanceAssignment::Kind::kResource || a.class_type != "kv") {
    return false;
  }
  auto storage = a.configurations.find("storage");
  return storage != a.configurations.end() && storage->second == "durable";
}

}  // namespace

Verdict Judge(const JetStreamName& name, const WorkflowView& view) {
  auto it = view.workflows.find(name.workflow);
  bool live = it != view.workflows.end() && it->second == name.incarnation;
  if (live) return Verdict::kLive;
  if (name.incarnation == 0) return Verdict::kDeadTwice;
  // Created after the view: the view cannot know it yet.
  return name.incarnation <= view.revision ? Verdict::kDead : Verdict::kLive;
}

JetStreamJanitor::JetStreamJanitor(JetStreamOptions options, bool background)
    : options_(std::move(options)) {
  if (background) thread_ = std::thread([this] { Loop(); });
}

JetStreamJanitor::~JetStreamJanitor() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void JetStreamJanitor::Observe(const protocol::Assignments& a, SteadyClock::time_point asked_at) {
  if (!a.workflows) return;  // an older control plane: nothing is known dead
  {
    std::lock_guard lock(mu_);
    bool first = !view_.has_value();
    view_ = WorkflowView{a.revision, *a.workflows, asked_at};
    for (const protocol::InstanceAssignment& i : a.instances) {
      if (UsesJetStream(i)) ran_.emplace(i.workflow, i.incarnation);
    }
    // A workflow that ran here and is gone from the view was deleted.
    for (auto it = ran_.begin(); it != ran_.end();) {
      auto w = view_->workflows.find(it->first);
      if (w != view_->workflows.end() && w->second == it->second) {
        ++it;
        continue;
      }
      it = ran_.erase(it);
      due_ = true;
    }
    if (first) due_ = true;
    // A view that can confirm what an earlier sweep found dead once.
    if (confirm_after_ && asked_at > *confirm_after_) {
      confirm_after_.reset();
      due_ = true;
    }
    if (!due_) return;
  }
  cv_.notify_all();
}

int64_t JetStreamJanitor::sweeps() const {
  std::lock_guard lock(mu_);
  return sweeps_;
}

Result<std::shared_ptr<NatsConnection>> JetStreamJanitor::Connection() {
  // Under sweep_mu_ (not mu_: Observe must not wait for a connection).
  if (conn_ == nullptr) {
    ASSIGN_OR_RETURN(conn_, NatsConnection::Open(options_));
  }
  return conn_;
}

Result<SweepReport> JetStreamJanitor::SweepNow() {
  std::lock_guard sweep(sweep_mu_);
  WorkflowView view;
  {
    std::lock_guard lock(mu_);
    if (!view_) return FailedPrecondition("no workflow list from the control plane yet");
    view = *view_;
  }
  ASSIGN_OR_RETURN(std::shared_ptr<NatsConnection> conn, Connection());
  jsStreamNamesList* list = nullptr;
  jsErrCode jerr = jsErrCode(0);
  natsStatus s = js_StreamNames(&list, conn->js(), nullptr, &jerr);
  // NATS_NOT_FOUND: the server has no stream at all.
  if (s != NATS_OK && s != NATS_NOT_FOUND) {
    return conn->Error("cannot list the streams on NATS", s, jerr);
  }
  std::vector<std::string> names;
  for (int i = 0; list != nullptr && i < list->Count; ++i) names.emplace_back(list->List[i]);
  jsStreamNamesList_Destroy(list);
  // After the listing: every name in it existed by now (see the header).
  SteadyClock::time_point listed = SteadyClock::now();

  SweepReport report;
  Status first_error;
  std::map<std::string, SteadyClock::time_point> dead_once;
  for (const std::string& stream : names) {
    std::optional<JetStreamName> name = ParseJetStreamName(options_.prefix, stream);
    if (!name) continue;
    Verdict v = Judge(*name, view);
    if (v == Verdict::kDeadTwice) {
      auto seen = dead_once_.find(stream);
      if (seen == dead_once_.end() || view.asked_at <= seen->second) {
        dead_once.emplace(stream, seen == dead_once_.end() ? listed : seen->second);
        report.waiting.push_back(stream);
        continue;
      }
      v = Verdict::kDead;
      dead_once.emplace(stream, seen->second);  // still confirmed if the delete fails
    }
    if (v != Verdict::kDead) continue;
    jerr = jsErrCode(0);
    s = js_DeleteStream(conn->js(), stream.c_str(), nullptr, &jerr);
    if (s == NATS_OK || s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr) {
      LOG_INFO("NATS: deleted {} of workflow {}{} (the workflow was deleted)", stream,
               name->workflow,
               name->incarnation != 0 ? " incarnation " + std::to_string(name->incarnation) : "");
      report.deleted.push_back(stream);
      dead_once.erase(stream);
      continue;
    }
    Status st = conn->Error("cannot delete stream " + stream, s, jerr);
    if (first_error.ok()) first_error = st;
  }
  dead_once_ = std::move(dead_once);
  {
    std::lock_guard lock(mu_);
    ++sweeps_;
    if (!report.waiting.empty()) confirm_after_ = listed;
  }
  if (!first_error.ok()) return first_error;
  return report;
}

void JetStreamJanitor::Loop() {
  const auto interval = options_.sweep_interval;
  const auto retry = std::min<std::chrono::milliseconds>(interval, kRetry);
  SteadyClock::time_point next = SteadyClock::now() + std::chrono::hours(24);
  bool failing = false;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait_until(lock, next, [&] { return stop_ || due_; });
      if (stop_) return;
      if (!view_) {
        next = SteadyClock::now() + std::chrono::hours(24);
        continue;
      }
      due_ = false;
    }
    Result<SweepReport> r = SweepNow();
    if (r.ok()) {
      if (failing) LOG_INFO("NATS: the sweep of deleted workflows' streams works again");
      failing = false;
      next = SteadyClock::now() + interval;
    } else {
      if (!failing) {
        LOG_WARN("NATS: the sweep of deleted workflows' streams failed ({}); trying again in {} s",
                 r.status().message(),
                 std::chrono::duration_cast<std::chrono::seconds>(retry).count());
      }
      failing = true;
      next = SteadyClock::now() + retry;
    }
  }
}

}  // namespace aether::workflow
