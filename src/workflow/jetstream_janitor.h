// Deletes what deleted workflows left on the NATS server: the event
// streams of at-least-once workflows (with their consumers) and the kv
// buckets of durable kv resources (names in jetstream_names.h). Without it
// they would stay forever and fill the server until its limits refuse
// writes. docs/operations.md, "NATS JetStream", says what is on the server
// and how it is cleaned up.
//
// What is dead. The engine's poller hands every answer of the control
// plane (protocol::Assignments: the revision R it is at and, in
// "workflows", every workflow with its incarnation) to Observe. A stream
// or bucket of workflow W with incarnation N > 0 is dead when N <= R and
// the view has no W with incarnation N: incarnations are the store's create
// revisions, so a workflow created after the view has N > R and is kept,
// however old the view (a stale engine never deletes a newer workflow's
// stream). A name without an incarnation (a workflow created before
// incarnations) cannot be dated that way; it is dead when two views say so
// — W absent (or incarnated) in a view asked for after an earlier sweep had
// already listed the stream and found W absent: the stream existed then,
// so its workflow was created before that sweep, and a view read after it
// would list the workflow if it still existed.
//
// When. A sweep (one listing of the server's stream names, then one delete
// per dead name) runs after the first view, every `interval`, at once when
// a workflow whose at-least-once or durable kv instances ran on this node
// is missing from a new view (it was deleted), and again after a view that
// can confirm a name without an incarnation. Several engines may sweep at
// once: a delete of what is already gone is fine. A failed sweep is logged
// (once per change between working and failing) and tried again after
// `retry`; the engine never waits for a sweep. Without a "workflows" list
// (an older control plane) nothing is deleted.
//
// Thread-safety: Observe from any thread (never blocks on NATS); SweepNow
// from one thread at a time; the destructor from the controlling thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/result.h"
#include "protocol/assignments.h"
#include "workflow/jetstream_log.h"
#include "workflow/jetstream_names.h"

namespace aether::workflow {

namespace internal {
class NatsConnection;
}

// What the engine knows of the workflows: one answer of the control plane.
struct WorkflowView {
  int64_t revision = 0;
  protocol::WorkflowIncarnations workflows;
  // When the request that got it was sent (it was read from the store
  // after that).
  std::chrono::steady_clock::time_point asked_at{};
};

// The verdict on one name. kDead: delete it now; kDeadTwice: dead if an
// earlier sweep already found it so (a name without an incarnation).
enum class Verdict { kLive, kDead, kDeadTwice };
Verdict Judge(const JetStreamName& name, const WorkflowView& view);

struct SweepReport {
  std::vector<std::string> deleted;  // stream names as the server lists them
  std::vector<std::string> waiting;  // without an incarnation, dead once so far
};

class JetStreamJanitor {
 public:
  // `options` valid (ValidateJetStreamOptions). `background`: a thread of
  // its own sweeps as described above; otherwise only SweepNow does (tests).
  // Connects when it first sweeps.
  JetStreamJanitor(JetStreamOptions options, bool background = true);
  ~JetStreamJanitor();  // stops the thread (a sweep in progress finishes first)
  JetStreamJanitor(const JetStreamJanitor&) = delete;
  JetStreamJanitor& operator=(const JetStreamJanitor&) = delete;

  // One answer of the control plane, `asked_at` when its request was sent.
  // Ignored without a "workflows" list.
  void Observe(const protocol::Assignments& a, std::chrono::steady_clock::time_point asked_at);

  // Sweeps now on this thread with the last view; FailedPrecondition before
  // the first. Errors: as jetstream_log.h maps NATS' (the first failed
  // delete; the others are still tried).
  Result<SweepReport> SweepNow();

  int64_t sweeps() const;  // completed, by either path (tests)

 private:
  void Loop();
  Result<std::shared_ptr<internal::NatsConnection>> Connection();

  const JetStreamOptions options_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::optional<WorkflowView> view_;
  // Workflows with at-least-once or durable kv instances here, until they
  // leave the view.
  std::set<std::pair<std::string, int64_t>> ran_;
  bool due_ = false;
  bool stop_ = false;
  // Set when a sweep found names dead once: a view asked for after this
  // can confirm them.
  std::optional<std::chrono::steady_clock::time_point> confirm_after_;
  int64_t sweeps_ = 0;

  std::mutex sweep_mu_;                             // one sweep at a time
  std::shared_ptr<internal::NatsConnection> conn_;  // made by the first sweep (under sweep_mu_)
  // Names without an incarnation found dead, and when (under sweep_mu_).
  std::map<std::string, std::chrono::steady_clock::time_point> dead_once_;

  std::thread thread_;
};

}  // namespace aether::workflow
