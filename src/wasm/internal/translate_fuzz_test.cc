// libFuzzer target for module validation and wasm2c translation (uploaded
// modules are untrusted). Checks: ValidateModule and TranslateToC never
// crash, hit UB or throw on any bytes; they agree on what is valid; a
// module that validates always translates.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>

#include "common/result.h"
#include "wasm/internal/translate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> wasm(data, size);
  auto info = aether::wasm::ValidateModule(wasm);
  auto translation = aether::wasm::TranslateToC(wasm);
  if (info.ok()) {
    if (!translation.ok()) {
      std::fprintf(stderr, "valid module failed to translate: %s\n",
                   translation.status().ToString().c_str());
    }
    CHECK(translation.ok());
    CHECK(!translation->c_source.empty());
  } else {
    CHECK(!translation.ok());
  }
  return 0;
}
