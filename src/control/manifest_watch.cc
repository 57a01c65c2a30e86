#include "control/manifest_watch.h"

#include "common/log.h"

namespace aether::control {
namespace {

// How late a parked request may notice a change that raced with its
// parking, or its own deadline.
constexpr std::chrono::milliseconds kTick{100};

}  // namespace

ManifestWatch::ManifestWatch(Store& store, FunctionRegistry& functions, ControlMetrics& metrics,
                             size_t max_waiters)
    : store_(store), functions_(functions), metrics_(metrics), max_waiters_(max_waiters) {}

ManifestWatch::~ManifestWatch() { Stop(); }

void ManifestWatch::Start() { thread_ = std::thread([this] { Run(); }); }

void ManifestWatch::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
  std::list<Waiter> rest;
  {
    std::lock_guard lock(mu_);
    rest.swap(waiters_);
  }
  for (Waiter& w : rest) Answer(w.respond);
  metrics_.manifest_waiters.Get().Set(0);
}

void ManifestWatch::Answer(Responder& respond) {
  Result<std::shared_ptr<const Manifest>> m = functions_.GetManifest();
  if (!m.ok()) {
    respond(JsonError(m.status()));
    return;
  }
  HttpResponse r;
  r.body = (*m)->json;
  r.headers.emplace_back("Cache-Control", "no-store");
  respond(std::move(r));
}

void ManifestWatch::Wait(std::optional<int64_t> since, std::chrono::milliseconds wait,
                         Responder respond) {
  wait = std::min<std::chrono::milliseconds>(wait, kMaxManifestWait);
  Result<int64_t> rev = functions_.Revision();
  if (!rev.ok()) {
    respond(JsonError(rev.status()));
    return;
  }
  if (!since || *since != *rev || wait.count() <= 0) {
    Answer(respond);
    return;
  }
  {
    std::lock_guard lock(mu_);
    if (!stopping_ && waiters_.size() < max_waiters_) {
      waiters_.push_back({*since, std::chrono::steady_clock::now() + wait, std::move(respond)});
      metrics_.manifest_waiters.Get().Set(static_cast<double>(waiters_.size()));
      return;
    }
  }
  // Full or stopping: answer now; the engine polls again.
  Answer(respond);
}

void ManifestWatch::Run() {
  Result<int64_t> seen = store_.Revision();
  int64_t store_rev = seen.ok() ? *seen : 0;
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    Result<int64_t> r = store_.WaitForRevision(store_rev, kTick);
    if (r.ok()) store_rev = *r;
    metrics_.revision.Get().Set(static_cast<double>(store_rev));
    Result<int64_t> fn_rev = functions_.Revision();
    if (!fn_rev.ok()) {
      LOG_WARN("manifest watch: {}", fn_rev.status().message());
      continue;
    }
    // Every waiter is checked on every tick, not only on a change: that
    // also catches a change that landed between a waiter's own check and
    // its parking.
    std::list<Waiter> due;
    auto now = std::chrono::steady_clock::now();
    {
      std::lock_guard lock(mu_);
      for (auto it = waiters_.begin(); it != waiters_.end();) {
        if (it->since != *fn_rev || it->deadline <= now) {
          due.splice(due.end(), waiters_, it++);
        } else {
          ++it;
        }
      }
      metrics_.manifest_waiters.Get().Set(static_cast<double>(waiters_.size()));
    }
    for (Waiter& w : due) Answer(w.respond);
  }
}

}  // namespace aether::control
