#include "control/prefetch_hints.h"

#include <algorithm>

#include "protocol/module_hints.h"

namespace aether::control {

PrefetchHints::PrefetchHints(Gauge* waiters, size_t max_waiters)
    : poll_(ChangeFeed{[this] { return Revision(); },
                       [this](int64_t seen, std::chrono::milliseconds timeout) {
                         return WaitPast(seen, timeout);
                       }},
            LongPollHooks{[this] { return Revision(); },
                          [this](const std::string&, Responder& respond) { Answer(respond); },
                          [waiters](int64_t, size_t n) {
                            if (waiters != nullptr) waiters->Set(static_cast<double>(n));
                          }},
            kMaxPrefetchWait, max_waiters, "prefetch") {}

PrefetchHints::~PrefetchHints() { Stop(); }

void PrefetchHints::Start() { poll_.Start(); }

void PrefetchHints::Stop() { poll_.Stop(); }

PrefetchHints::Announcement::~Announcement() {
  if (hints_ != nullptr) hints_->End(id_);
}

PrefetchHints::Announcement PrefetchHints::Announce(std::string sha256,
                                                    std::shared_ptr<const std::string> bytes) {
  uint64_t id = 0;
  {
    std::lock_guard lock(mu_);
    id = next_id_++;
    entries_.push_back({id, std::move(sha256), std::move(bytes)});
    ++revision_;
  }
  announced_.notify_all();
  return Announcement(this, id);
}

void PrefetchHints::End(uint64_t id) {
  // The revision stays: a deploy's end is nothing an engine acts on.
  std::lock_guard lock(mu_);
  std::erase_if(entries_, [id](const Entry& e) { return e.id == id; });
}

std::shared_ptr<const std::string> PrefetchHints::Bytes(const std::string& sha256) const {
  std::lock_guard lock(mu_);
  for (const Entry& e : entries_) {
    if (e.sha256 == sha256) return e.bytes;
  }
  return nullptr;
}

void PrefetchHints::Wait(std::optional<int64_t> since, std::chrono::milliseconds wait,
                         Responder respond) {
  poll_.Wait("", since, wait, std::move(respond));
}

void PrefetchHints::Answer(Responder& respond) const {
  protocol::ModuleHints hints;
  {
    std::lock_guard lock(mu_);
    hints.revision = revision_;
    // The newest, each digest once (two deploys of the same module).
    for (auto it = entries_.rbegin();
         it != entries_.rend() && hints.modules.size() < protocol::kMaxModuleHints; ++it) {
      bool seen =
          std::any_of(hints.modules.begin(), hints.modules.end(),
                      [&](const protocol::ModuleHint& m) { return m.sha256 == it->sha256; });
      if (!seen) hints.modules.push_back({it->sha256, it->bytes->size()});
    }
  }
  HttpResponse r;
  r.body = protocol::EncodeModuleHints(hints);
  r.headers.emplace_back("Cache-Control", "no-store");
  respond(std::move(r));
}

Result<int64_t> PrefetchHints::Revision() const {
  std::lock_guard lock(mu_);
  return revision_;
}

Result<int64_t> PrefetchHints::WaitPast(int64_t seen, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  announced_.wait_for(lock, timeout, [&] { return revision_ != seen; });
  return revision_;
}

}  // namespace aether::control
