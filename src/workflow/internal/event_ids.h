// Ids of at-least-once events (event_log.h): the log drops a second append
// of an id within its dedup window, and receivers skip ids they handled.
// An event a handler casts gets an id derived from the event it handles,
// so handling that event again (it was delivered again after a crash)
// casts the same ids and adds nothing downstream; others get random ids.
// Pure functions: any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace aether::workflow::internal {

// 32 lower-case hex digits from the system's random generator.
std::string RandomEventId();

// 32 hex digits that depend only on the arguments: the `seq`-th cast (from
// 0) through `output` while handling the event `parent`.
std::string DerivedEventId(std::string_view parent, std::string_view output, uint32_t seq);

// 32 hex digits that depend only on the arguments: the event an
// http-ingress `ingress` of `workflow` accepts with the Idempotency-Key
// `key`, the same on every node (a retry may reach another one).
std::string IngressEventId(std::string_view workflow, std::string_view ingress,
                           std::string_view key);

}  // namespace aether::workflow::internal
