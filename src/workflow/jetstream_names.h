// The names of what Aether keeps on a NATS server for a workflow, and back
// (the sweep reads them from the server's list of streams). For the
// [nats] prefix P, a workflow W and its incarnation N
// (protocol::InstanceAssignment::incarnation):
//   event stream (at-least-once)   P_wf_W_IN        subjects P.wf.W.IN.<component>
//   kv bucket (durable kv)         P_kv_<len W>_W_<component>_IN
//                                  (JetStream's stream of it: KV_<bucket>)
// A workflow without an incarnation (N = 0: created before incarnations)
// has the names without "_IN" (and the subjects without ".IN"), as before.
// Workflow and component names are lower-case protocol names, so the "_I"
// of an incarnation can never be part of them: every name reads back one
// way. With a prefix of 32 and names of 63 characters, the longest name
// (a bucket's stream) is about 200 characters, within NATS' 255.
//
// Pure functions: any thread. The builders take valid names
// (internal::CheckName); the parser answers nullopt for anything else.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "workflow/event_log.h"

namespace aether::workflow {

std::string EventStreamName(std::string_view prefix, WorkflowRef workflow);
// The subject of `component`'s events ("*": every component's, the
// stream's subject filter).
std::string EventSubject(std::string_view prefix, WorkflowRef workflow, std::string_view component);
std::string KvBucketNameOf(std::string_view prefix, WorkflowRef workflow,
                           std::string_view component);

// One of the names above, read from a stream name as the server lists it.
struct JetStreamName {
  enum class Kind { kEventStream, kKvBucket };
  Kind kind = Kind::kEventStream;
  std::string workflow;
  int64_t incarnation = 0;  // 0: an older name without one
  std::string component;    // kKvBucket
  bool operator==(const JetStreamName&) const = default;
};
// nullopt: not a name of `prefix`'s (another prefix's, a stream of
// someone else's, a malformed one).
std::optional<JetStreamName> ParseJetStreamName(std::string_view prefix, std::string_view stream);

}  // namespace aether::workflow
