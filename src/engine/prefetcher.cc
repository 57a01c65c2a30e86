#include "engine/prefetcher.h"

#include <chrono>

#include "common/log.h"
#include "common/stage_times.h"

namespace aether::engine {
namespace {

void CountOutcome(Counter* counter) {
  if (counter != nullptr) counter->Inc();
}

}  // namespace

Prefetcher::Prefetcher(wasm::Engine& engine, Read read, PrefetcherOptions options)
    : engine_(engine),
      read_(std::move(read)),
      options_(options),
      queue_(WorkQueueOptions{.name = "the prefetch queue",
                              .threads = options.threads,
                              .max_tasks = options.max_queued}) {}

Prefetcher::~Prefetcher() { queue_.Stop(); }

bool Prefetcher::FirstTime(const std::string& sha256) {
  if (!taken_.insert(sha256).second) return false;
  taken_order_.push_back(sha256);
  if (taken_order_.size() > options_.remember) {
    taken_.erase(taken_order_.front());
    taken_order_.pop_front();
  }
  return true;
}

void Prefetcher::Offer(const std::vector<protocol::ModuleHint>& hints) {
  for (const protocol::ModuleHint& hint : hints) {
    {
      std::lock_guard lock(mu_);
      if (!FirstTime(hint.sha256)) continue;
    }
    if (options_.max_module_size != 0 && hint.size > options_.max_module_size) {
      CountOutcome(options_.dropped);
      continue;
    }
    Status queued = queue_.Post([this, hint] { Run(hint); });
    if (!queued.ok()) {
      CountOutcome(options_.dropped);
      LOG_DEBUG("prefetch of {}: dropped ({})", hint.sha256.substr(0, 12), queued.message());
    }
  }
}

void Prefetcher::Run(const protocol::ModuleHint& hint) {
  auto start = std::chrono::steady_clock::now();
  Result<std::vector<uint8_t>> bytes = read_(hint.sha256);
  Result<std::shared_ptr<const wasm::Module>> module =
      bytes.ok() ? engine_.Prepare(*bytes)
                 : Result<std::shared_ptr<const wasm::Module>>(bytes.status());
  CountOutcome(module.ok() ? options_.compiled : options_.failed);
  // Debug only (spdlog's, not LOG_DEBUG, which release builds leave out: the
  // first-response bench reads it): a module the deploy refuses fails here
  // too, and the deploy says why; a failed fetch is tried again with the
  // manifest.
  if (!DebugLogging()) return;
  double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::string sha = hint.sha256.substr(0, 12);
  if (module.ok()) {
    spdlog::debug("prefetch of {}: {} tier loaded in {:.1f} ms", sha,
                  wasm::TierName((*module)->tier()), ms);
  } else {
    spdlog::debug("prefetch of {}: {} ({:.1f} ms)", sha, module.status().message(), ms);
  }
}

}  // namespace aether::engine
