#include "workflow/internal/edgeless_ids.h"

#include <algorithm>
#include <span>

#include "common/sha256.h"

namespace aether::workflow::internal {
namespace {

EdgelessUuid NameUuid(std::string_view tag, std::string_view a, std::string_view b) {
  std::string text;
  text.reserve(tag.size() + a.size() + b.size() + 2);
  // NUL-separated: ("a", "bc") and ("ab", "c") hash apart.
  text.append(tag).push_back('\0');
  text.append(a).push_back('\0');
  text.append(b);
  Sha256Digest d =
      Sha256(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  EdgelessUuid id{};
  std::copy_n(d.begin(), id.size(), id.begin());
  id[6] = static_cast<uint8_t>((id[6] & 0x0f) | 0x80);  // version 8
  id[8] = static_cast<uint8_t>((id[8] & 0x3f) | 0x80);  // variant 10
  return id;
}

}  // namespace

EdgelessUuid NodeUuid(std::string_view node_id) { return NameUuid("aether-node", node_id, ""); }

EdgelessUuid ComponentUuid(std::string_view workflow, std::string_view component) {
  return NameUuid("aether-component", workflow, component);
}

EdgelessUuid InstanceUuid(std::string_view workflow, std::string_view component, uint32_t index) {
  if (index == 0) return ComponentUuid(workflow, component);
  return NameUuid("aether-instance", workflow,
                  std::string(component).append("/").append(std::to_string(index)));
}

std::string FormatUuid(const EdgelessUuid& id) {
  std::string hex = HexLower(id);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

}  // namespace aether::workflow::internal
