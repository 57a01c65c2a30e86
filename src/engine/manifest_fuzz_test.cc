// libFuzzer target for the manifest parser (bytes from the control plane or
// from <data_dir>/manifest.json). Checks: no crash, UB or uncaught
// exception; errors are InvalidArgument; every accepted entry has a valid
// name, a 64-hex-digit sha256 and well-formed "K=V" env strings.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/result.h"
#include "engine/manifest.h"
#include "protocol/ids.h"
#include "protocol/names.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto m = aether::engine::ParseManifest(text);
  if (!m.ok()) {
    CHECK(m.status().code() == aether::Code::kInvalidArgument);
    return 0;
  }
  for (const auto& f : m->functions) {
    CHECK(aether::protocol::IsName(f.name));
    CHECK(aether::protocol::IsSha256Hex(f.sha256));
    for (const auto& kv : f.settings.env) CHECK(kv.find('=') != std::string::npos);
  }
  return 0;
}
