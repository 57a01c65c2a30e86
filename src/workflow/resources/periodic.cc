#include "workflow/resources/periodic.h"

#include <utility>

namespace aether::workflow::resources {

PeriodicResource::PeriodicResource(std::string what, Clock& clock, Clock::Duration period)
    : what_(std::move(what)), clock_(clock), period_(period) {}

PeriodicResource::~PeriodicResource() { Stop(); }

void PeriodicResource::StartTicking() {
  thread_ = std::thread([this] { Loop(); });
}

Status PeriodicResource::Cast(std::string_view, std::string_view) {
  return FailedPrecondition(what_ + " receives no events");
}

Result<std::string> PeriodicResource::Call(std::string_view, std::string_view,
                                           std::chrono::milliseconds) {
  return FailedPrecondition(what_ + " receives no events");
}

void PeriodicResource::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void PeriodicResource::Loop() {
  Prepare();
  Clock::TimePoint next = clock_.Now() + period_;
  std::unique_lock lock(mu_);
  for (;;) {
    if (clock_.WaitUntil(lock, cv_, next, [this] { return stopping_; })) return;
    lock.unlock();
    Tick();
    lock.lock();
    next += period_;
    Clock::TimePoint now = clock_.Now();
    if (next <= now) next += ((now - next) / period_ + 1) * period_;  // skip, do not burst
  }
}

}  // namespace aether::workflow::resources
