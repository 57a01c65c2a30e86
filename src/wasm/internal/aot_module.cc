#include "wasm/internal/aot_module.h"

namespace aether::wasm {

AotModule::AotModule(std::string sha, Tier tier, uint64_t size, ModuleInfo info,
                     std::unique_ptr<LoadedModule> loaded)
    : sha_(std::move(sha)),
      tier_(tier),
      size_(size),
      info_(std::move(info)),
      loaded_(std::move(loaded)) {
  for (const auto& imp : info_.imports) {
    uses_wasi_ = uses_wasi_ || imp.module == "wasi_snapshot_preview1";
  }
  for (const auto& [name, signature] : info_.export_funcs) {
    if (aether_export_thunk fn = loaded_->export_fn(name.c_str(), signature.c_str())) {
      exports_.push_back({name, signature, fn});
    }
  }
}

aether_export_thunk AotModule::FindExport(std::string_view name, std::string_view signature) const {
  for (const CallableExport& e : exports_) {
    if (e.name == name && e.signature == signature) return e.fn;
  }
  return nullptr;
}

std::string_view AotModule::ExportSignature(std::string_view name) const {
  for (const auto& [export_name, signature] : info_.export_funcs) {
    if (export_name == name) return signature;
  }
  return {};
}

}  // namespace aether::wasm
