// libFuzzer target for CheckGeneratedC: any text, no crash or UB, and a
// verdict that does not depend on where the text is split into lines by
// backslash-newline (what the C preprocessor joins, the check joins too).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "wasm/internal/c_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  aether::Status st = aether::wasm::CheckGeneratedC(text);
  // A unit with "constructor" spelled across a line splice is refused like
  // the plain spelling.
  // (Two newlines: a trailing backslash in `text` splices away only one.)
  std::string spliced = std::string(text) + "\n\nconstr\\\nuctor\n";
  CHECK(!aether::wasm::CheckGeneratedC(spliced).ok());
  (void)st;
  return 0;
}
