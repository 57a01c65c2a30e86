// A wasm::Engine for unit tests: "modules" are text, and the text says what
// an execution does. Load() rejects bytes starting with "bad".
//   "echo"          stdout = stdin
//   "argv"          stdout = args[0]
//   "trap"          traps with kDivideByZero, stderr "oops"
//   "timeout"       traps with kTimeout
//   "exit N"        exits with N, stderr "failed"
//   "big"           Run() fails with ResourceExhausted
//   "block"         waits until Release() (to fill a worker)
//   anything else   stdout = the module text
#pragma once

#include <pthread.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>

#include "common/sha256.h"
#include "wasm/engine.h"

namespace aether::engine::testing {

class FakeModule final : public wasm::Module {
 public:
  explicit FakeModule(std::string text) : text_(std::move(text)), sha_(Sha256Hex(text_)) {}
  const std::string& sha256() const override { return sha_; }
  wasm::Tier tier() const override { return wasm::Tier::kFast; }
  uint64_t wasm_size() const override { return text_.size(); }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::string sha_;
};

class FakeEngine final : public wasm::Engine {
 public:
  Result<std::shared_ptr<const wasm::Module>> Load(std::span<const uint8_t> wasm) override {
    loads++;
    std::string text(wasm.begin(), wasm.end());
    if (text.starts_with("bad")) return InvalidArgument("bad magic number");
    return std::shared_ptr<const wasm::Module>(std::make_shared<FakeModule>(text));
  }

  Result<std::shared_ptr<const wasm::Module>> Prepare(std::span<const uint8_t> wasm) override {
    prepares++;
    return Load(wasm);
  }

  std::shared_ptr<const wasm::Module> Current(
      const std::shared_ptr<const wasm::Module>& module) override {
    return module;
  }

  Result<wasm::RunResult> Run(const wasm::Module& module,
                              const wasm::RunOptions& options) override {
    runs++;
    last_stack_size = CurrentStackSize();
    const std::string& text = static_cast<const FakeModule&>(module).text();
    wasm::RunResult r;
    r.exec_ms = 0.25;
    r.peak_memory_bytes = 128 * 1024;
    if (text == "echo") {
      r.stdout_data = std::string(options.stdin_data);
    } else if (text == "argv") {
      r.stdout_data = options.args.empty() ? "" : options.args[0];
    } else if (text == "trap") {
      r.trap = wasm::TrapKind::kDivideByZero;
      r.stderr_data = "oops\n";
    } else if (text == "timeout") {
      r.trap = wasm::TrapKind::kTimeout;
    } else if (text.starts_with("exit ")) {
      r.exit_code = std::stoi(text.substr(5));
      r.stderr_data = "failed\n";
    } else if (text == "big") {
      return ResourceExhausted("initial memory 64MB is over the limit 16MB");
    } else if (text == "block") {
      std::unique_lock lock(mu_);
      blocked_++;
      cv_.notify_all();
      cv_.wait(lock, [&] { return released_; });
    } else {
      r.stdout_data = text;
    }
    return r;
  }

  // Waits until `n` executions are blocked in "block".
  void WaitBlocked(int n) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return blocked_ >= n; });
  }
  void Release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

  static size_t CurrentStackSize() {
    pthread_attr_t attr;
    size_t size = 0;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
      pthread_attr_getstacksize(&attr, &size);
      pthread_attr_destroy(&attr);
    }
    return size;
  }

  std::atomic<int> loads{0};  // Prepare's included
  std::atomic<int> prepares{0};
  std::atomic<int> runs{0};
  std::atomic<size_t> last_stack_size{0};

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int blocked_ = 0;
  bool released_ = false;
};

}  // namespace aether::engine::testing
