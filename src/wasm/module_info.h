// What validation learns about a module: its function imports and exports.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace aether::wasm {

struct FuncImportInfo {
  std::string module;
  std::string name;
  std::string signature;  // host.h notation, e.g. "i:iiii"
};

struct ModuleInfo {
  std::vector<FuncImportInfo> imports;  // function imports, in declaration order
  std::vector<std::pair<std::string, std::string>> export_funcs;  // name, signature
  bool exports_memory = false;                                    // exported as "memory"
  uint64_t initial_pages = 0;  // of the module's own memory, if any
  bool has_memory = false;
};

}  // namespace aether::wasm
