// Validation and translation of a wasm binary to C, in-process with libwabt.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"

namespace aether::wasm {

// The module name given to wasm2c; every generated symbol starts with Z_<it>.
inline constexpr const char* kGuestModuleName = "aethg";

struct FuncImportInfo {
  std::string module;
  std::string name;
  std::string signature;  // host.h notation, e.g. "i:iiii"
};

struct ModuleInfo {
  std::vector<FuncImportInfo> imports;  // function imports, in declaration order
  std::vector<std::pair<std::string, std::string>> export_funcs;  // name, signature
  bool exports_memory = false;  // exported as "memory"
  uint64_t initial_pages = 0;   // of the module's own memory, if any
  bool has_memory = false;
};

struct Translation {
  ModuleInfo info;
  std::string c_source;  // wasm2c output
  std::string c_header;
};

// Validates `wasm` (binary format + validation rules of the features wasm2c
// supports here: MVP, mutable globals, sign extension, saturating
// conversions, multi-value, bulk memory, reference types). Errors are
// kInvalidArgument with wabt's message, e.g. "invalid module: 0000010:
// error: ...". Imports of memories, tables, globals or tags are refused.
Result<ModuleInfo> ValidateModule(std::span<const uint8_t> wasm);

// Validates and translates to C.
Result<Translation> TranslateToC(std::span<const uint8_t> wasm);

}  // namespace aether::wasm
