// The storage of durable `kv` resources (resources/kv.h, "storage" =
// "durable"): NATS JetStream Key-Value buckets, through the C client
// (libnats), on the engine's [nats] servers.
//
// Layout on the server, for prefix P: one bucket per workflow component
// and incarnation, "P_kv_<length of workflow>_<workflow>_<component>_I<n>"
// (jetstream_names.h; the length keeps "a_b"+"c" and "a"+"b_c" apart; a
// workflow without an incarnation has the name without "_I<n>"; names must
// be protocol names, anything else is InvalidArgument). History 1, file
// storage, the options' replicas and max_bytes, the resource's
// max_value_bytes as the largest value. A bucket that exists is used as it
// is, except its largest value, which follows max_value_bytes. A bucket
// lives as long as its workflow's incarnation: the engines delete it once
// the workflow is deleted (jetstream_janitor.h); a workflow created again
// under the same name has new, empty buckets.
//
// Keys: JetStream takes only [-/_=.A-Za-z0-9] in keys, so every other
// byte, and '=' and '.', is stored as "=HH" (hex). DEL purges the key's
// messages (no delete marker stays), so the bucket's message count is the
// number of keys.
//
// Errors (as jetstream_log.h maps them): NATS not reachable, a timeout, a
// link that is down (reconnecting) -> Unavailable, at once while the link
// is down; a full bucket ([nats] max_bytes) -> ResourceExhausted; a value
// over the bucket's limit -> InvalidArgument; anything else NATS reports
// -> Internal, with its text. Secrets never appear in a message.
//
// Thread-safety: everything from any thread. The connection is made on
// the first Open (and again after a failure, with a backoff of 100 ms
// doubling to 5 s), then shared by every bucket of the engine; libnats
// reconnects it by itself.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "workflow/jetstream_log.h"

namespace aether::workflow {

namespace internal {
class NatsConnection;
}

struct KvItem {
  std::string value;
  uint64_t revision = 0;
};

// One bucket, open.
class KvBucket {
 public:
  virtual ~KvBucket() = default;
  // nullopt when the key has no value.
  virtual Result<std::optional<KvItem>> Get(std::string_view key) = 0;
  // Stores `value` whatever the key holds; returns the new revision.
  virtual Result<uint64_t> Put(std::string_view key, std::string_view value) = 0;
  // Stores `value` only if the key's revision is still `revision` (0: the
  // key has no value). FailedPrecondition when it changed (compare-and-set).
  virtual Result<uint64_t> Update(std::string_view key, std::string_view value,
                                  uint64_t revision) = 0;
  // Removes the key's value up to `revision` (a value written after it
  // stays).
  virtual Status Delete(std::string_view key, uint64_t revision) = 0;
  // The number of keys that have a value.
  virtual Result<uint64_t> Count() = 0;
  // Every key that has a value, in no order.
  virtual Result<std::vector<std::string>> Keys() = 0;
};

class KvBuckets {
 public:
  // `options` valid (ValidateJetStreamOptions); does not connect yet.
  static std::shared_ptr<KvBuckets> Create(JetStreamOptions options);
  virtual ~KvBuckets() = default;

  // Opens the bucket of `workflow`/`component`, creating it when absent.
  // Blocks up to about connect_timeout (twice, for a first connection).
  virtual Result<std::unique_ptr<KvBucket>> Open(WorkflowRef workflow, std::string_view component,
                                                 uint64_t max_value_bytes) = 0;
};

// The bucket name, as above (InvalidArgument for a name that is not a
// protocol name).
Result<std::string> KvBucketName(std::string_view prefix, WorkflowRef workflow,
                                 std::string_view component);

// A key as JetStream stores it, and back (nullopt: not one of ours).
std::string EncodeKvKey(std::string_view key);
std::optional<std::string> DecodeKvKey(std::string_view stored);

}  // namespace aether::workflow
