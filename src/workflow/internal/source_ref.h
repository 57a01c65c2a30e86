// The source of an event as it travels between instances (mailboxes and the
// dataplane's frames): the sending component's name, and "/<index>" after
// it when the sender is an instance other than the component's first. The
// Aether ABI and resources see only the component; an EDGELESS function
// sees the exact instance, so that cast_raw/call_raw to an event's sender
// reach that instance (function_actor_edgeless.cc). Component names have no
// '/' (protocol/ids.h), so the two never mix up.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace aether::workflow::internal {

std::string SourceRef(std::string_view component, uint32_t index);

struct SourceParts {
  std::string_view component;  // into the parsed ref
  uint32_t index = 0;
};
// Any text parses: without a valid "/<index>" suffix it is all component
// (an external source such as an ingress's, or an older engine's frame).
SourceParts ParseSourceRef(std::string_view ref);

}  // namespace aether::workflow::internal
