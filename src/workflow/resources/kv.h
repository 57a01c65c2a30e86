// kv: a small key-value store the functions of a workflow call.
//
// Per instance, in memory: the store is empty when the resource starts and
// is lost when it stops (a workflow deleted or changed, the engine
// restarted, the instance moved to another node). Use redis for data that
// must outlive that.
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

}  // namespace aether::workflow::resources
