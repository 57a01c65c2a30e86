// Where a function instance's synced state lives: the bytes a guest built
// with EDGELESS's SDK passes to sync(), handed back to its handle_init when
// the instance starts again (after a trap, an engine restart, or a move to
// another node).
//
// Two places, chosen per engine:
//  - with [nats] (WorkflowHostOptions::kv_buckets): the JetStream KV bucket
//    of the workflow's component and incarnation (jetstream_kv.h; the one a
//    durable kv resource of that name would have, so the janitor deletes it
//    with the workflow), key "state.<index>". The bucket is replicated, so
//    the state follows the instance to whichever node runs it next.
//  - else a file on this node only:
//      <data_dir>/workflows/<workflow>/.state/<component>.<index>[.I<n>]
//    (".I<n>" for an incarnation n != 0, so a workflow deleted and created
//    again under the same name starts without the old state; the leading
//    '.' keeps it apart from file-log files, which may not start with one).
//    Written through a temp file and a rename, without fsync: a reader sees
//    the old state or the whole new one, except after a crash of the
//    machine, which may leave an empty file.
//
// The bucket is opened by OpenInstanceState, not on first use: the caller
// may block there (a pool worker starting the instance), and NATS being
// unreachable then fails the start, which is retried, rather than the
// instance's first sync. The file's directories are made on the first Save,
// so instances that never sync leave nothing on disk.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "workflow/workflow_host.h"

namespace aether::workflow::internal {

// Largest state an instance may sync.
constexpr size_t kMaxInstanceState = 1u << 20;

// The latest state one function instance synced.
// Thread-safety: one caller at a time (the instance's actor).
// Errors: the bucket's as KvBuckets reports them (Unavailable while NATS
// cannot be reached, ResourceExhausted for a full bucket, ...); files:
// Internal naming the path, Unavailable when a directory cannot be made.
class InstanceState {
 public:
  virtual ~InstanceState() = default;
  // nullopt: the instance never synced (or its state was never stored).
  virtual Result<std::optional<std::string>> Load() = 0;
  // Replaces the stored state. InvalidArgument when larger than
  // kMaxInstanceState (the stored state stays as it was).
  virtual Status Save(std::string_view state) = 0;
  // Where it is kept, for docs/messages: "file <path>" or
  // "JetStream KV bucket <name>".
  virtual std::string where() const = 0;
};

// The state of instance `a` (a.id "<workflow>/<component>/<index>", agreeing
// with a.workflow and a.component) on the engine of `options`: the KV
// bucket when options.kv_buckets is set (may block up to about NATS'
// connect timeout), else the file under options.data_dir.
// InvalidArgument: an id, name or incarnation that cannot be a safe path
// component or bucket name. FailedPrecondition: neither kv_buckets nor a
// data_dir. Otherwise the bucket's errors.
Result<std::unique_ptr<InstanceState>> OpenInstanceState(const WorkflowHostOptions& options,
                                                         const InstanceAssignment& a);

}  // namespace aether::workflow::internal
