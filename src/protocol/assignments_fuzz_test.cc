// libFuzzer target for the workflow assignments parser (GET /node/workflows:
// bytes from a control plane the engine may not trust). Checks: no crash,
// UB or uncaught exception; errors are InvalidArgument; every accepted
// instance has a valid instance id and names; what was accepted encodes to
// an answer that parses again (the control plane's side of the same struct).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/result.h"
#include "protocol/assignments.h"
#include "protocol/ids.h"
#include "protocol/names.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto a = aether::protocol::ParseAssignments(text);
  if (!a.ok()) {
    CHECK(a.status().code() == aether::Code::kInvalidArgument);
    return 0;
  }
  for (const auto& i : a->instances) {
    CHECK(aether::protocol::IsInstanceId(i.id));
    CHECK(aether::protocol::IsName(i.workflow));
    CHECK(aether::protocol::IsName(i.component));
  }
  for (const auto& p : a->peers) CHECK(aether::protocol::IsNodeId(p.node_id));
  auto again = aether::protocol::ParseAssignments(aether::protocol::EncodeAssignments(*a));
  CHECK(again.ok());
  CHECK(again->instances.size() == a->instances.size());
  CHECK(again->peers.size() == a->peers.size());
  return 0;
}
