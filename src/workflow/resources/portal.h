// portal: the sending end of a link between domains
// (docs/workflow-protocol.md, "Portals (links between domains)"). A cluster
// controller adds one to a domain's part of a workflow for each component
// of another domain that components here send to; its `url` is that
// domain's /wf/{workflow}/_portal/{component}, served by an http-ingress in
// portal mode (ingress.cc), and its `token` the secret of that edge.
//
// Cast: queued (at most PortalConfig::queue_length events and
// kPortalQueueBytes of payload, one event always fits an empty queue); a
// full queue is ResourceExhausted ("the link to <url> is full (N casts
// waiting)"), and CastWait holds its caller for room until its deadline.
// One sender thread posts the head of the queue as a batch (portal_codec.h:
// at most batch_events events and about kPortalBatchBytes of payload,
// always at least one event; HTTP timeout `timeout_ms`) and removes what
// the other domain accepted: all on 200 {"accepted":N}, the first k on 503
// {"accepted":k,...} (its target was full: the rest is sent again, first).
// A connection error or another answer (404: the other domain's portal
// ingress is not running yet; 403: it does not have this token yet; a 5xx
// without "accepted") keeps the whole batch. After anything but a whole
// success the thread backs off (kPortalMinBackoff doubling to
// kPortalMaxBackoff on ctx.clock, reset by a success) and sends again: no
// event is dropped while the resource runs. A failed POST goes to
// report_failure (what failed, never the token); the first answer after
// that is logged once ("the link ... is back").
//
// Call: posted at once on the calling thread (several at a time), with the
// caller's timeout (clamped to 1..60000 ms) in X-Aether-Timeout-Ms and an
// HTTP timeout kPortalCallSlack longer, so the other domain's 504 arrives
// first. 200: the reply; 504 DeadlineExceeded; 502 Internal (the target's
// message); 503 ResourceExhausted ("full") or Unavailable; no connection,
// 403 or 404 Unavailable; anything else Internal naming the status.
//
// Stop: refuses new casts and calls, lets a batch in flight finish for at
// most kPortalStopGrace, then cuts it and every call in flight
// (Unavailable), joins the sender thread and counts what is still queued as
// dropped (aether_portal_events_total{result="dropped"}, logged).
//
// Threads: Cast, CastWait and Call from any thread; Stop from the owner.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "common/resource_config.h"
#include "workflow/resource.h"

namespace aether::workflow::resources {

inline constexpr std::chrono::milliseconds kPortalMinBackoff{10};
inline constexpr std::chrono::milliseconds kPortalMaxBackoff{1000};
inline constexpr size_t kPortalBatchBytes = 1u << 20;       // payload per request, about
inline constexpr uint64_t kPortalQueueBytes = 64ull << 20;  // payload queued, at most
inline constexpr std::chrono::milliseconds kPortalCallSlack{1000};
inline constexpr std::chrono::milliseconds kPortalStopGrace{500};

// What every portal of the process counts, for /metrics (the host
// registers them as aether_portal_*: host.cc). Process-wide, unlike the
// rest of the tree (conventions: no mutable globals), because resources
// have no metrics registry; an engine has one host, so they are its counts.
struct PortalCounters {
  std::atomic<uint64_t> events_sent{0};     // accepted by the other domain
  std::atomic<uint64_t> events_refused{0};  // answered "not taken" (full), kept and sent again
  std::atomic<uint64_t> events_dropped{0};  // still queued at Stop
  std::atomic<uint64_t> batches{0};         // batches posted (every attempt)
  std::atomic<uint64_t> calls_ok{0};
  std::atomic<uint64_t> calls_error{0};
  std::atomic<uint64_t> link_errors{0};  // POSTs that failed: no connection, unexpected answers
};
PortalCounters& GlobalPortalCounters();

std::unique_ptr<Resource> NewPortal(ResourceContext ctx, PortalConfig config);

}  // namespace aether::workflow::resources
