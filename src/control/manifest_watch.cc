#include "control/manifest_watch.h"

namespace aether::control {

ManifestWatch::ManifestWatch(Store& store, FunctionRegistry& functions, ControlMetrics& metrics,
                             size_t max_waiters)
    : functions_(functions),
      metrics_(metrics),
      poll_(store,
            // The manifest, not only its revision: this runs every tick on
            // every replica, which keeps the gateway's cached manifest
            // (CachedManifest) current when another replica deploys.
            LongPollHooks{[this]() -> Result<int64_t> {
                            ASSIGN_OR_RETURN(std::shared_ptr<const Manifest> m,
                                             functions_.GetManifest());
                            return m->revision;
                          },
                          [this](const std::string&, Responder& respond) { Answer(respond); },
                          // (aether_control_store_revision is read when scraped.)
                          [this](int64_t, size_t waiters) {
                            metrics_.manifest_waiters.Get().Set(static_cast<double>(waiters));
                          }},
            kMaxManifestWait, max_waiters, "manifest") {}

ManifestWatch::~ManifestWatch() { Stop(); }

void ManifestWatch::Start() { poll_.Start(); }

void ManifestWatch::Stop() { poll_.Stop(); }

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
  poll_.Wait("", since, wait, std::move(respond));
}

}  // namespace aether::control
