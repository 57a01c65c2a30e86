// What validation learns about a module: its function imports and exports.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"

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

// Whether `imp` may be linked to a host function of `provided_signature`
// (null: Aether has no such function); the error names the import.
inline Status CheckImport(const FuncImportInfo& imp, const std::string* provided_signature) {
  if (provided_signature == nullptr) {
    return InvalidArgument("module imports " + imp.module + "." + imp.name +
                           ", which Aether does not provide");
  }
  if (*provided_signature != imp.signature) {
    return InvalidArgument("module imports " + imp.module + "." + imp.name + " with signature " +
                           imp.signature + ", expected " + *provided_signature);
  }
  return OkStatus();
}

}  // namespace aether::wasm
