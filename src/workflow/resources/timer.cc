#include "workflow/resources/timer.h"

#include <utility>

#include "workflow/resources/periodic.h"

namespace aether::workflow::resources {
namespace {

class Timer final : public PeriodicResource {
 public:
  Timer(ResourceContext ctx, TimerConfig config)
      : PeriodicResource("a timer", *ctx.clock, config.period),
        ctx_(std::move(ctx)),
        config_(std::move(config)) {
    StartTicking();
  }
  ~Timer() override { Stop(); }

 private:
  void Tick() override {
    for (const std::string& output : ctx_.outputs()) {
      Status st = ctx_.cast(output, config_.payload);
      if (!st.ok()) ctx_.report_failure("timer: cast to \"" + output + "\": " + st.message());
    }
  }

  ResourceContext ctx_;
  const TimerConfig config_;
};

}  // namespace

std::unique_ptr<Resource> NewTimer(ResourceContext ctx, TimerConfig config) {
  return std::make_unique<Timer>(std::move(ctx), std::move(config));
}

}  // namespace aether::workflow::resources
