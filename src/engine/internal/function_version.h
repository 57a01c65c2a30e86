// One version of a function, whatever its source (a file in functions_dir,
// a module named by the control plane's manifest): where its bytes come
// from, its settings, and its load (read the bytes, Engine::Load), done once
// by whichever thread gets there first — a background loader, or a request
// that would otherwise wait behind other functions' compiles.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "engine/function_registry.h"
#include "wasm/engine.h"

namespace aether::engine {

using ModulePtr = std::shared_ptr<const wasm::Module>;

// How a load ended, for the owner's bookkeeping (events, switching versions).
struct LoadOutcome {
  const Result<ModulePtr>& result;
  bool read_failed = false;  // the bytes could not be had (file, fetch, sha256); else Engine::Load
  double compile_ms = 0;     // Engine::Load alone
  double total_ms = 0;       // bytes + Engine::Load
};

// Thread-safety: every method from any thread. The callbacks run on the
// thread that performed the load, after waiters were released.
class FunctionVersion final : public Function {
 public:
  using ReadBytes = std::function<Result<std::vector<uint8_t>>()>;
  using OnLoaded = std::function<void(FunctionVersion&, const LoadOutcome&)>;

  // `origin` names the source in logs ("/srv/fns/hello.wasm", "sha256 50b0…").
  // `size` is what is known before reading (0 when unknown); `sha256` may
  // be empty until the bytes were read.
  FunctionVersion(std::string name, std::string origin, uint64_t size, std::string sha256,
                  FunctionSettings settings, ReadBytes read, wasm::Engine& engine,
                  OnLoaded on_loaded = nullptr);

  const std::string& name() const override { return name_; }
  const FunctionSettings& settings() const override { return settings_; }
  bool loaded() const override { return loaded_.load(std::memory_order_acquire); }
  Result<ModulePtr> WaitModule() override;
  void WhenLoaded(std::function<void()> ready) override;
  void LoadIfQueued() override;
  FunctionInfo Info() const;

 private:
  const std::string name_;
  const std::string origin_;
  const FunctionSettings settings_;
  const ReadBytes read_;
  wasm::Engine& engine_;
  const OnLoaded on_loaded_;

  enum State { kQueued, kLoading, kDone };
  mutable std::mutex mu_;
  std::condition_variable cv_;
  State state_ = kQueued;
  std::optional<Result<ModulePtr>> result_;         // set once, in kDone
  std::vector<std::function<void()>> when_loaded_;  // run once, after kDone
  uint64_t size_;
  std::string sha_;
  std::atomic<bool> loaded_{false};
};

using VersionPtr = std::shared_ptr<FunctionVersion>;

// A FIFO of versions compiled by background threads. A version that is no
// longer wanted when its turn comes (`still_wanted` false) is skipped: a
// request still holding it loads it on demand.
class LoadQueue {
 public:
  LoadQueue(size_t threads, std::function<bool(const VersionPtr&)> still_wanted);
  ~LoadQueue();  // stops the threads; a load in progress finishes first
  void Push(VersionPtr v);

 private:
  void Loop();
  const std::function<bool(const VersionPtr&)> still_wanted_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<VersionPtr> queue_;  // FIFO: front is queue_[head_]
  size_t head_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace aether::engine
