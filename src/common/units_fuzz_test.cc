// libFuzzer target for ParseDuration / ParseSize (config values, CLI flags).
// Checks: no crash or UB on any bytes; an accepted value is non-negative
// and in range; Format* of a value that doubles hold exactly parses back
// to the same value.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/result.h"
#include "common/units.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  constexpr int64_t kExact = int64_t{1} << 53;  // below this, doubles are exact

  if (auto d = aether::ParseDuration(text); d.ok()) {
    int64_t ns = d->count();
    CHECK(ns >= 0);
    if (ns < kExact) {
      auto back = aether::ParseDuration(aether::FormatDuration(*d));
      CHECK(back.ok());
      CHECK(*back == *d);
    }
  }

  if (auto s = aether::ParseSize(text); s.ok()) {
    if (*s < static_cast<uint64_t>(kExact)) {
      auto back = aether::ParseSize(aether::FormatSize(*s));
      CHECK(back.ok());
      CHECK(*back == *s);
    }
  }
  return 0;
}
