// The part timer and file-pusher share: a resource that takes no events
// and acts once per period on a thread of its own.
//
// Fixed rate: tick k is due at start + k * period, so the time a tick takes
// never shifts the next ones; when the thread falls behind by a whole
// period or more (a suspended machine, a long stall) the missed ticks are
// skipped, not fired in a burst. The first tick comes one period after the
// start. Cast and Call are FailedPrecondition. Stop wakes the thread at
// once (a condition variable) and joins it.
//
// A subclass calls StartTicking() last in its constructor (the thread calls
// its virtuals) and Stop() first in its destructor (the thread uses its
// members).
#pragma once

#include <condition_variable>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "common/clock.h"
#include "workflow/resource.h"

namespace aether::workflow::resources {

class PeriodicResource : public Resource {
 public:
  Status Cast(std::string_view source, std::string_view payload) override;
  Result<std::string> Call(std::string_view source, std::string_view payload,
                           std::chrono::milliseconds timeout) override;
  void Stop() override;

 protected:
  // `what` names the class in errors ("a timer"); `clock` outlives this.
  PeriodicResource(std::string what, Clock& clock, Clock::Duration period);
  ~PeriodicResource() override;
  void StartTicking();

  // On the thread: once when it starts, then at every tick.
  virtual void Prepare() {}
  virtual void Tick() = 0;

 private:
  void Loop();

  const std::string what_;
  Clock& clock_;
  const Clock::Duration period_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace aether::workflow::resources
