#include "engine/internal/function_version.h"

#include <chrono>
#include <thread>

#include "common/log.h"
#include "common/sha256.h"
#include "common/stage_times.h"

namespace aether::engine {
namespace {

double MsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

FunctionVersion::FunctionVersion(std::string name, std::string origin, uint64_t size,
                                 std::string sha256, FunctionSettings settings, ReadBytes read,
                                 wasm::Engine& engine, OnLoaded on_loaded)
    : name_(std::move(name)),
      origin_(std::move(origin)),
      settings_(std::move(settings)),
      read_(std::move(read)),
      engine_(engine),
      on_loaded_(std::move(on_loaded)),
      size_(size),
      sha_(std::move(sha256)) {}

Result<ModulePtr> FunctionVersion::WaitModule() {
  if (!loaded()) {
    // Claiming a still-queued load lets a request jump the background
    // queue instead of waiting behind other functions' compiles.
    LoadIfQueued();
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return state_ == kDone; });
  }
  return *result_;
}

void FunctionVersion::WhenLoaded(std::function<void()> ready) {
  {
    std::lock_guard lock(mu_);
    if (state_ != kDone) {
      when_loaded_.push_back(std::move(ready));
      return;
    }
  }
  ready();
}

void FunctionVersion::LoadIfQueued() {
  {
    std::lock_guard lock(mu_);
    if (state_ != kQueued) return;
    state_ = kLoading;
  }
  auto t0 = std::chrono::steady_clock::now();
  StageTimes stages;
  double compile_ms = 0;
  bool read_failed = false;
  uint64_t size = 0;
  std::string sha;
  Result<ModulePtr> r = [&]() -> Result<ModulePtr> {
    Result<std::vector<uint8_t>> bytes = read_();
    stages.Lap("read");  // the module store, or a fetch from the control plane
    if (!bytes.ok()) {
      read_failed = true;
      return bytes.status();
    }
    size = bytes->size();
    sha = Sha256Hex(*bytes);
    auto t1 = std::chrono::steady_clock::now();
    Result<ModulePtr> m = engine_.Load(*bytes);
    compile_ms = MsSince(t1);
    stages.Lap("load");  // Engine::Load: the compile's own line says more
    return m;
  }();
  double total_ms = MsSince(t0);
  if (DebugLogging()) spdlog::debug("function {} load: {}", name_, stages.Format());
  if (r.ok()) {
    LOG_INFO("function {} ready: {} bytes, sha256 {}, {} tier, {:.1f} ms", name_, size,
             sha.substr(0, 12), wasm::TierName((*r)->tier()), total_ms);
  } else {
    LOG_WARN("function {} ({}) cannot be loaded: {}", name_, origin_, r.status().message());
  }
  std::vector<std::function<void()>> ready;
  {
    std::lock_guard lock(mu_);
    if (!sha.empty()) {
      sha_ = std::move(sha);
      size_ = size;
    }
    result_.emplace(std::move(r));
    state_ = kDone;
    loaded_.store(true, std::memory_order_release);
    ready.swap(when_loaded_);
  }
  cv_.notify_all();
  for (auto& fn : ready) fn();
  if (on_loaded_) on_loaded_(*this, LoadOutcome{*result_, read_failed, compile_ms, total_ms});
}

FunctionInfo FunctionVersion::Info() const {
  FunctionInfo info;
  info.name = name_;
  std::lock_guard lock(mu_);
  info.size = size_;
  info.sha256 = sha_;
  if (state_ != kDone) {
    info.state = "loading";
  } else if (result_->ok()) {
    info.state = "ready";
    info.tier = wasm::TierName(engine_.Current(result_->value())->tier());
  } else {
    info.state = "failed";
    info.error = result_->status().message();
  }
  return info;
}

LoadQueue::LoadQueue(size_t threads, std::function<bool(const VersionPtr&)> still_wanted)
    : still_wanted_(std::move(still_wanted)) {
  for (size_t i = 0; i < std::max<size_t>(1, threads); ++i) {
    threads_.emplace_back([this] { Loop(); });
  }
}

LoadQueue::~LoadQueue() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void LoadQueue::Push(VersionPtr v) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(v));
  }
  cv_.notify_one();
}

void LoadQueue::Loop() {
  for (;;) {
    VersionPtr v;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || head_ < queue_.size(); });
      if (stopping_) return;
      v = std::move(queue_[head_++]);
      if (head_ == queue_.size()) {
        queue_.clear();
        head_ = 0;
      }
    }
    if (still_wanted_(v)) v->LoadIfQueued();
  }
}

}  // namespace aether::engine
