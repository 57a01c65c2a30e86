// timer: casts `payload` to every mapped output once per period (the
// schedule, Stop and the refusal of events: periodic.h). A cast that fails
// (an output's mailbox full, ...) is counted with report_failure and the
// timer keeps going. The outputs are read at every tick, so rewiring takes
// effect at the next one.
#pragma once

#include <memory>

#include "common/resource_config.h"
#include "workflow/resource.h"

namespace aether::workflow::resources {

std::unique_ptr<Resource> NewTimer(ResourceContext ctx, TimerConfig config);

}  // namespace aether::workflow::resources
