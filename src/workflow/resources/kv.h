// kv: a small key-value store the functions of a workflow call.
//
// storage = "memory" (the default; NewKv): per instance, in memory: the
// store is empty when the resource starts and is lost when it stops (a
// workflow deleted or changed, the engine restarted, the instance moved to
// another node).
//
// storage = "durable" (NewDurableKv): a NATS JetStream Key-Value bucket
// per workflow component (workflow/jetstream_kv.h), so the data outlives
// the instance, its node and a move, and every instance of the component,
// on any node, sees the same data. Each command is one to three round
// trips to NATS, run in order on the resource's own thread (a call sees
// the casts sent before it; at most ctx.limits.kv_queue_length queued:
// then ResourceExhausted, or the feeding instance waits). A call that gets
// no answer within its timeout is DeadlineExceeded (the command may still
// be applied); while NATS is unreachable commands fail at once with
// Unavailable (libnats reconnects by itself). INCR is a compare-and-set
// loop on the key's revision: concurrent INCRs from any number of
// instances lose no increment. max_keys is checked against the bucket's
// key count before a new key is written, so writers that add keys at the
// same moment may pass it by one each. DEL then SET/INCR racing on one key
// apply in some order; DEL's "1"/"0" tells what it saw.
//
// Commands (the payload; the command word in any case, single spaces):
//   GET key            -> the value; NotFound when absent
//   SET key <value>    -> "OK"; the value is every byte after the second
//                         space (binary-safe; may be empty: "SET key")
//   DEL key            -> "1" when deleted, "0" when absent
//   INCR key [n]       -> the new value; n a decimal int64 (default 1); an
//                         absent key counts from 0; a value that is not a
//                         decimal int64, or an overflow, is InvalidArgument
//   KEYS [prefix]      -> the keys starting with prefix, sorted, one per
//                         line; at most kKvMaxKeysListed of them
// Keys are 1..256 bytes without spaces, CR or LF. Limits (max_keys,
// max_value_bytes) are ResourceExhausted. A cast performs SET, DEL and
// INCR (the reply is dropped); GET and KEYS as a cast are InvalidArgument,
// since their answer would go nowhere.
#pragma once

#include <memory>

#include "common/resource_config.h"
#include "workflow/resource.h"

namespace aether::workflow::resources {

inline constexpr size_t kKvMaxKeyBytes = 256;
inline constexpr size_t kKvMaxKeysListed = 1000;

std::unique_ptr<Resource> NewKv(KvConfig config);
// ctx.kv_buckets must be set. Does not reach NATS yet: the first command
// opens the bucket (creating it), and again after a failure.
std::unique_ptr<Resource> NewDurableKv(ResourceContext ctx, KvConfig config);

}  // namespace aether::workflow::resources
