// libFuzzer target for the manifest parser (bytes from the control plane or
// from <data_dir>/manifest.json) and, on the same input, the prefetch
// hints' (GET /node/prefetch). Checks: no crash, UB or uncaught exception;
// errors are InvalidArgument; every accepted entry has a valid name (hints:
// none) and a 64-hex-digit sha256, at most kMaxModuleHints hints; what was
// accepted encodes to an answer that parses again (the control plane's
// side of the same struct).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/result.h"
#include "protocol/ids.h"
#include "protocol/manifest.h"
#include "protocol/module_hints.h"
#include "protocol/names.h"

namespace {

void CheckHints(std::string_view text) {
  auto h = aether::protocol::ParseModuleHints(text);
  if (!h.ok()) {
    CHECK(h.status().code() == aether::Code::kInvalidArgument);
    return;
  }
  CHECK(h->modules.size() <= aether::protocol::kMaxModuleHints);
  for (const auto& m : h->modules) CHECK(aether::protocol::IsSha256Hex(m.sha256));
  auto again = aether::protocol::ParseModuleHints(aether::protocol::EncodeModuleHints(*h));
  CHECK(again.ok());
  CHECK(again->revision == h->revision && again->modules == h->modules);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  CheckHints(text);
  auto m = aether::protocol::ParseManifest(text);
  if (!m.ok()) {
    CHECK(m.status().code() == aether::Code::kInvalidArgument);
    return 0;
  }
  for (const auto& f : m->functions) {
    CHECK(aether::protocol::IsName(f.name));
    CHECK(aether::protocol::IsSha256Hex(f.sha256));
  }
  auto again = aether::protocol::ParseManifest(aether::protocol::EncodeManifest(*m));
  CHECK(again.ok());
  CHECK(again->functions.size() == m->functions.size());
  return 0;
}
