// The 16-byte instance ids of EDGELESS's guest ABI (a node id and a
// component id, UUIDs in EDGELESS), derived from Aether's names: the same
// name gives the same id on every engine, so a function can answer the
// component that sent it an event with cast_raw/call_raw wherever either
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
// The id of `component` of `workflow`: one per component, not per instance
// (an event carries only the sending component's name).
EdgelessUuid ComponentUuid(std::string_view workflow, std::string_view component);
// "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", for messages.
std::string FormatUuid(const EdgelessUuid& id);

}  // namespace aether::workflow::internal
