// The 16-byte instance ids of EDGELESS's guest ABI (a node id and a
// function instance id, UUIDs in EDGELESS), derived from Aether's names:
// the same name gives the same id on every engine, so a function can answer
// the instance that sent it an event with cast_raw/call_raw wherever either
// runs. They are name-based UUIDs (RFC 9562 version 8: the first 16 bytes
// of a SHA-256 over a tag and the names, with the version and variant
// bits set).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace aether::workflow::internal {

using EdgelessUuid = std::array<uint8_t, 16>;

// The id of engine `node_id`, as slf() reports it.
EdgelessUuid NodeUuid(std::string_view node_id);
// The id of `component` of `workflow`, which is also its first instance's
// (index 0: most components have one instance).
EdgelessUuid ComponentUuid(std::string_view workflow, std::string_view component);
// The id of instance `index` of `component`: ComponentUuid for index 0.
EdgelessUuid InstanceUuid(std::string_view workflow, std::string_view component, uint32_t index);
// "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", for messages.
std::string FormatUuid(const EdgelessUuid& id);

}  // namespace aether::workflow::internal
