// A ResourceContext for the resource tests: records casts and failures,
// with a settable list of mapped outputs and an optional cast result.
#pragma once

#include <stdlib.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "workflow/resource.h"

namespace aether::workflow::resources::testing {

class FakeContext {
 public:
  struct CastEvent {
    std::string output;
    std::string payload;
    Clock::TimePoint at;  // on `clock`
  };

  // The resource's clock (ResourceContext::clock); a test that moves time
  // by hand points it at a FakeClock before Make().
  Clock* clock = &Clock::Real();

  // The ResourceContext; its callbacks refer to this object, which must
  // outlive the resource's Stop().
  ResourceContext Make(ResourceConfigMap config = {}) {
    ResourceContext ctx;
    ctx.workflow = "wf-test";
    ctx.component = "res";
    ctx.instance_id = "wf-test/res/0";
    ctx.data_dir = data_dir;
    ctx.configurations = std::move(config);
    ctx.clock = clock;
    ctx.cast = [this](std::string_view output, std::string_view payload) -> Status {
      std::lock_guard lock(mu_);
      if (!cast_status_.ok()) return cast_status_;
      casts_.push_back({std::string(output), std::string(payload), clock->Now()});
      cv_.notify_all();
      return OkStatus();
    };
    ctx.call = [](std::string_view, std::string_view,
                  std::chrono::milliseconds) -> Result<std::string> {
      return Unavailable("no calls in this test");
    };
    ctx.outputs = [this] {
      std::lock_guard lock(mu_);
      ++output_reads_;
      cv_.notify_all();
      return outputs_;
    };
    ctx.report_failure = [this](std::string_view message) {
      std::lock_guard lock(mu_);
      failures_.emplace_back(message);
      cv_.notify_all();
    };
    return ctx;
  }

  void SetOutputs(std::vector<std::string> outputs) {
    std::lock_guard lock(mu_);
    outputs_ = std::move(outputs);
  }
  void SetCastStatus(Status st) {
    std::lock_guard lock(mu_);
    cast_status_ = std::move(st);
  }
  std::vector<CastEvent> casts() const {
    std::lock_guard lock(mu_);
    return casts_;
  }
  // How often the resource has asked for its outputs (a timer: once a tick).
  size_t output_reads() const {
    std::lock_guard lock(mu_);
    return output_reads_;
  }
  std::vector<std::string> failures() const {
    std::lock_guard lock(mu_);
    return failures_;
  }
  // Waits until at least `n` casts (or failures) were recorded.
  bool WaitCasts(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return casts_.size() >= n; });
  }
  bool WaitFailures(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return failures_.size() >= n; });
  }
  bool WaitOutputReads(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return output_reads_ >= n; });
  }

  std::string data_dir;

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> outputs_;
  Status cast_status_;
  std::vector<CastEvent> casts_;
  std::vector<std::string> failures_;
  size_t output_reads_ = 0;
};

// A fresh directory under /tmp, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "aether-res-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace aether::workflow::resources::testing
