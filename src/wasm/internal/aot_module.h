// The AOT engine's Module: a compiled module loaded into the runtime, with
// the description validation produced and its callable exports.
//
// Immutable after construction; shared (shared_ptr) by the engine's cache,
// by executions and by every long-lived instance made from it, so it stays
// loaded while any of them needs it.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "wasm/engine.h"
#include "wasm/internal/runtime.h"
#include "wasm/internal/translate.h"

namespace aether::wasm {

class AotModule final : public Module, public std::enable_shared_from_this<AotModule> {
 public:
  AotModule(std::string sha, Tier tier, uint64_t size, ModuleInfo info,
            std::unique_ptr<LoadedModule> loaded);

  const std::string& sha256() const override { return sha_; }
  Tier tier() const override { return tier_; }
  uint64_t wasm_size() const override { return size_; }
  bool ImportsFunction(std::string_view module, std::string_view name) const override {
    for (const FuncImportInfo& imp : info_.imports) {
      if (imp.module == module && imp.name == name) return true;
    }
    return false;
  }
  const LoadedModule& loaded() const { return *loaded_; }
  const ModuleInfo& info() const { return info_; }
  bool uses_wasi() const { return uses_wasi_; }

  // The export `name` with exactly `signature`, or null when there is none
  // or its signature is not callable (abi.h: i32/i64 only).
  aether_export_thunk FindExport(std::string_view name, std::string_view signature) const;
  // The signature `name` is exported with ("" if it is not exported).
  std::string_view ExportSignature(std::string_view name) const;

 private:
  struct CallableExport {
    std::string name;
    std::string signature;
    aether_export_thunk fn;
  };

  std::string sha_;
  Tier tier_;
  uint64_t size_;
  ModuleInfo info_;
  std::unique_ptr<LoadedModule> loaded_;
  bool uses_wasi_ = false;
  std::vector<CallableExport> exports_;  // resolved once: lookups need no dlsym or strcmp chain
};

}  // namespace aether::wasm
