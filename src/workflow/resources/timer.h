// timer: casts `payload` to every mapped output once per period.
//
// Fixed rate: tick k is due at start + k * period, so the time a tick takes
// never shifts the next ones; when the thread falls behind by a whole
// period or more (a suspended machine, a long stall) the missed ticks are
// skipped, not fired in a burst. The first tick comes one period after the
// start. A cast that fails (an output's mailbox full, ...) is counted with
// report_failure and the timer keeps going. The outputs are read at every
// tick, so rewiring takes effect at the next one.
//
// A timer takes no events: Cast and Call are FailedPrecondition. Stop
// wakes the thread at once (a condition variable) and joins it.
#pragma once

#include <memory>

#include "common/resource_config.h"
#include "workflow/resource.h"

namespace aether::workflow::resources {

std::unique_ptr<Resource> NewTimer(ResourceContext ctx, TimerConfig config);

}  // namespace aether::workflow::resources
