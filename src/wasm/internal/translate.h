// Validation and translation of a wasm binary to C with libwabt. These run
// on untrusted bytes, so only the confined compiler process calls them
// (worker/compiler_main.cc); the engine and the control plane go through
// wasm/validate.h and the sandbox (internal/sandbox.h).
#pragma once

#include <cstdint>
#include <span>
#include <string>
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

}  // namespace aether::wasm
