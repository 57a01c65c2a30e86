// Parsing and printing of the human units used in configuration:
// durations ("3s", "250ms", "1m", "500us") and sizes ("16MB", "4KiB", "1024").
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace aether {

// Accepts an integer or decimal number followed by ns, us, ms, s, m or h.
// A bare number is seconds. Rejects negative values and overflow.
Result<std::chrono::nanoseconds> ParseDuration(std::string_view text);

// Accepts a number followed by B, KB, MB, GB (powers of 1024, as the
// original platform did) or KiB, MiB, GiB; a bare number is bytes.
Result<uint64_t> ParseSize(std::string_view text);

std::string FormatDuration(std::chrono::nanoseconds d);
// A configured duration as the whole milliseconds options take (truncated).
inline std::chrono::milliseconds WholeMilliseconds(std::chrono::nanoseconds d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d);
}
std::string FormatSize(uint64_t bytes);

}  // namespace aether
