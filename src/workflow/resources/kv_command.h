// The commands of the kv resource (kv.h), parsed and checked once for both
// stores (memory, durable), and the replies and errors they share, so the
// two answer alike.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace aether::workflow::resources {

struct KvCommand {
  enum class Op { kGet, kSet, kDel, kIncr, kKeys };
  Op op = Op::kGet;
  std::string_view key;    // the prefix for KEYS (may be empty)
  std::string_view value;  // SET
  int64_t by = 1;          // INCR
};

// The command in `payload` (views into it), with its key checked.
// InvalidArgument as kv.h says, e.g. GET or KEYS as a cast (!is_call).
Result<KvCommand> ParseKvCommand(std::string_view payload, bool is_call);

// ResourceExhausted when a SET's value is over max_value_bytes.
Status CheckKvValueSize(size_t size, uint64_t max_value_bytes);
// The ResourceExhausted of a store that holds max_keys keys.
Status KvFull(uint64_t max_keys);
// The text INCR stores: `current` (nullopt: no value) plus `by`.
// InvalidArgument for a value that is not an int64 or an overflow;
// ResourceExhausted when the text is over max_value_bytes.
Result<std::string> KvIncremented(std::string_view key, const std::optional<std::string>& current,
                                  int64_t by, uint64_t max_value_bytes);
// KEYS' reply from `keys` in any order: those starting with `prefix`,
// sorted, one per line, at most kKvMaxKeysListed.
std::string KvKeysReply(std::vector<std::string> keys, std::string_view prefix);

}  // namespace aether::workflow::resources
