// How the wire refers to nodes, instances and modules: node ids, node urls,
// workflow instance ids (<workflow>/<component>/<index>) and module digests
// (sha256 in hex). Both the control plane, which issues them, and the
// engines, which use them as map keys, log fields and path components,
// check them with these.
//
// Pure functions: any thread may call them.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace aether::protocol {

// Node ids are host names and the like: `[A-Za-z0-9][A-Za-z0-9._-]{0,127}`.
inline constexpr size_t kMaxNodeIdLength = 128;
bool IsNodeId(std::string_view id);
// InvalidArgument naming the rule otherwise, and the id as `what` (domain
// ids follow the same rule: "domain_id").
Status ValidateNodeId(std::string_view id, std::string_view what = "node_id");

// Where a node's engine listens: an http:// or https:// URL of at most 2048
// characters with a host, no spaces, control or non-ASCII bytes.
inline constexpr size_t kMaxNodeUrlLength = 2048;
Status ValidateNodeUrl(std::string_view url);
inline bool IsNodeUrl(std::string_view url) { return ValidateNodeUrl(url).ok(); }

// Instance ids: "<workflow>/<component>/<index>", both names IsName, the
// index decimal without leading zeros, at most kMaxInstanceIndex.
inline constexpr int kMaxInstanceIndex = 9999;
std::string InstanceId(std::string_view workflow, std::string_view component, int index);
struct InstanceIdParts {
  std::string_view workflow;  // into the parsed id
  std::string_view component;
  int index = 0;
};
// nullopt when `id` is not a valid instance id.
std::optional<InstanceIdParts> ParseInstanceId(std::string_view id);
inline bool IsInstanceId(std::string_view id) { return ParseInstanceId(id).has_value(); }

// A module digest as the wire carries it: 64 lower-case hex digits.
bool IsSha256Hex(std::string_view s);

}  // namespace aether::protocol
