#include "workflow/resources/timer.h"

#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>

namespace aether::workflow::resources {
namespace {

class Timer final : public Resource {
 public:
  Timer(ResourceContext ctx, TimerConfig config)
      : ctx_(std::move(ctx)), config_(std::move(config)), thread_([this] { Loop(); }) {}
  ~Timer() override { Stop(); }

  Status Cast(std::string_view, std::string_view) override {
    return FailedPrecondition("a timer receives no events");
  }
  Result<std::string> Call(std::string_view, std::string_view, std::chrono::milliseconds) override {
    return FailedPrecondition("a timer receives no events");
  }

  void Stop() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Loop() {
    Clock& clock = *ctx_.clock;
    const Clock::Duration period = config_.period;
    Clock::TimePoint next = clock.Now() + period;
    std::unique_lock lock(mu_);
    for (;;) {
      if (clock.WaitUntil(lock, cv_, next, [this] { return stopping_; })) return;
      lock.unlock();
      Tick();
      lock.lock();
      next += period;
      Clock::TimePoint now = clock.Now();
      if (next <= now) next += ((now - next) / period + 1) * period;  // skip, do not burst
    }
  }

  void Tick() {
    for (const std::string& output : ctx_.outputs()) {
      Status st = ctx_.cast(output, config_.payload);
      if (!st.ok()) ctx_.report_failure("timer: cast to \"" + output + "\": " + st.message());
    }
  }

  ResourceContext ctx_;
  const TimerConfig config_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;  // last: started once the members above exist
};

}  // namespace

std::unique_ptr<Resource> NewTimer(ResourceContext ctx, TimerConfig config) {
  return std::make_unique<Timer>(std::move(ctx), std::move(config));
}

}  // namespace aether::workflow::resources
