// Validation and translation of a wasm binary to C with libwabt. These run
// on untrusted bytes, so only the confined compiler process calls them
// (worker/compiler_main.cc); the engine and the control plane go through
// wasm/validate.h and the sandbox (internal/sandbox.h).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "wasm/module_info.h"
#include "wasm/module_limits.h"

namespace aether::wasm {

// The module name given to wasm2c; every generated symbol starts with Z_<it>.
inline constexpr const char* kGuestModuleName = "aethg";

// What reaches generated C in place of the module's own names: import i is
// 'm' 'i<i>' and export i is 'e<i>'. wasm2c prints names verbatim into C
// comments, so a name like "*/ __attribute__((constructor)) ..." would be
// code; these synthetic names are the only ones it ever sees.
inline constexpr const char* kImportModuleAlias = "m";

struct Translation {
  ModuleInfo info;
  std::vector<std::string> export_names;  // every export's real name, by export index
  std::string c_source;                   // wasm2c output
  std::string c_header;
};

// Validates `wasm` (binary format + validation rules of the features wasm2c
// supports here: MVP, mutable globals, sign extension, saturating
// conversions, multi-value, bulk memory, reference types) and checks it
// against `limits`. Errors are kInvalidArgument with wabt's message, e.g.
// "invalid module: 0000010: error: ...", or naming the limit and its config
// key. Imports of memories, tables, globals or tags are refused.
Result<ModuleInfo> ValidateInProcess(std::span<const uint8_t> wasm, const ModuleLimits& limits);

// Validates as above and translates to C under the synthetic names.
Result<Translation> TranslateInProcess(std::span<const uint8_t> wasm, const ModuleLimits& limits);

// Receives wasm2c's C source while wasm2c writes it (TranslateInto).
class SourceSink {
 public:
  virtual ~SourceSink() = default;
  // Once, before the first Write: the translation without c_source. Its
  // header is complete (wasm2c writes the header first).
  virtual Status Begin(const Translation& t) = 0;
  // The source's next bytes, in pieces of any size, exactly as wasm2c
  // writes them (data arrays included: see data_literals.h).
  virtual Status Write(std::string_view piece) = 0;
  // Once, after the last Write, with the same translation: the source is
  // complete. Called before the module's IR is freed (~1 ms for a large
  // module), so a consumer can finish meanwhile.
  virtual Status End(const Translation& t) = 0;
};

// Sees a module's description after validation, before the translation.
using ModuleCheck = std::function<Status(const ModuleInfo&)>;

// TranslateInProcess with the source handed to `sink` as it is written, so
// that the sink's consumer can work alongside wasm2c. The result has no
// c_source. An error from `accept` (before any translation) or from the
// sink stops the translation and is returned; End is called only when
// everything before it succeeded.
Result<Translation> TranslateInto(std::span<const uint8_t> wasm, const ModuleLimits& limits,
                                  const ModuleCheck& accept, SourceSink& sink);

}  // namespace aether::wasm
