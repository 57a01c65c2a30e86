#include "workflow/internal/source_ref.h"

#include <charconv>

namespace aether::workflow::internal {

std::string SourceRef(std::string_view component, uint32_t index) {
  std::string ref(component);
  if (index != 0) ref.append("/").append(std::to_string(index));
  return ref;
}

SourceParts ParseSourceRef(std::string_view ref) {
  size_t slash = ref.rfind('/');
  if (slash == std::string_view::npos || slash == 0) return {ref, 0};
  std::string_view digits = ref.substr(slash + 1);
  uint32_t index = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
  // "/0" and leading zeros are not written by SourceRef: not an index.
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || index == 0 ||
      digits.front() == '0') {
    return {ref, 0};
  }
  return {ref.substr(0, slash), index};
}

}  // namespace aether::workflow::internal
