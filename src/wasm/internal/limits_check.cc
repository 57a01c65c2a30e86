#include "wasm/internal/limits_check.h"

#include <wabt/ir.h>

#include <string>

namespace aether::wasm {
namespace {

constexpr uint8_t kCodeSectionId = 10;

// A cursor over bytes that reports running off the end instead of reading
// past it.
class Cursor {
 public:
  explicit Cursor(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  bool Byte(uint8_t* out) {
    if (pos_ >= bytes_.size()) return false;
    *out = bytes_[pos_++];
    return true;
  }
  bool U32(uint64_t* out) {
    uint64_t value = 0;
    for (int shift = 0; shift < 35; shift += 7) {
      uint8_t b = 0;
      if (!Byte(&b)) return false;
      value |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        *out = value;
        return value <= UINT32_MAX;
      }
    }
    return false;
  }
  bool Skip(uint64_t n) {
    if (n > bytes_.size() - pos_) return false;
    pos_ += n;
    return true;
  }
  size_t pos() const { return pos_; }
  bool done() const { return pos_ == bytes_.size(); }

 private:
  std::span<const uint8_t> bytes_;
  size_t pos_ = 0;
};

std::string Over(const std::string& what, uint64_t value, uint64_t limit, const char* key) {
  std::string s = "module over a limit: " + what + " " + std::to_string(value) +
                  " is over the limit of " + std::to_string(limit);
  if (key != nullptr) s += std::string(" ([runtime] ") + key + ")";
  return s;
}

Status CheckBodies(std::span<const uint8_t> section, const ModuleLimits& limits) {
  Cursor c(section);
  uint64_t count = 0;
  if (!c.U32(&count)) return OkStatus();
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t size = 0;
    if (!c.U32(&size)) return OkStatus();
    if (size > limits.max_function_size) {
      return InvalidArgument(Over("function body #" + std::to_string(i) + " has", size,
                                  limits.max_function_size, "max_function_size") +
                             " bytes");
    }
    if (!c.Skip(size)) return OkStatus();
  }
  return OkStatus();
}

Status CheckName(const std::string& name, const char* what) {
  if (name.size() > kMaxNameBytes) {
    return InvalidArgument(
        Over(std::string(what) + " name of", name.size(), kMaxNameBytes, nullptr) + " bytes");
  }
  return OkStatus();
}

}  // namespace

Status CheckCodeSizes(std::span<const uint8_t> wasm, const ModuleLimits& limits) {
  Cursor c(wasm);
  if (!c.Skip(8)) return OkStatus();  // magic + version
  while (!c.done()) {
    uint8_t id = 0;
    uint64_t size = 0;
    if (!c.Byte(&id) || !c.U32(&size)) return OkStatus();
    size_t start = c.pos();
    if (!c.Skip(size)) return OkStatus();
    if (id != kCodeSectionId) continue;
    if (size > limits.max_code_size) {
      return InvalidArgument(Over("code section of", size, limits.max_code_size, "max_code_size") +
                             " bytes");
    }
    RETURN_IF_ERROR(CheckBodies(wasm.subspan(start, size), limits));
  }
  return OkStatus();
}

Status CheckModuleShape(const wabt::Module& module, const ModuleLimits& limits) {
  if (module.funcs.size() > limits.max_functions) {
    return InvalidArgument(
        Over("function count", module.funcs.size(), limits.max_functions, "max_functions"));
  }
  if (module.imports.size() > kMaxImports) {
    return InvalidArgument(Over("import count", module.imports.size(), kMaxImports, nullptr));
  }
  if (module.exports.size() > kMaxExports) {
    return InvalidArgument(Over("export count", module.exports.size(), kMaxExports, nullptr));
  }
  if (module.tables.size() > kMaxTables) {
    return InvalidArgument(Over("table count", module.tables.size(), kMaxTables, nullptr));
  }
  for (const wabt::Table* t : module.tables) {
    if (t->elem_limits.initial > kMaxTableElements) {
      return InvalidArgument(
          Over("initial table size", t->elem_limits.initial, kMaxTableElements, nullptr) +
          " elements");
    }
  }
  for (const wabt::Import* imp : module.imports) {
    RETURN_IF_ERROR(CheckName(imp->module_name, "import module"));
    RETURN_IF_ERROR(CheckName(imp->field_name, "import"));
  }
  for (const wabt::Export* e : module.exports) RETURN_IF_ERROR(CheckName(e->name, "export"));
  for (const wabt::TypeEntry* entry : module.types) {
    const auto* ft = dynamic_cast<const wabt::FuncType*>(entry);
    if (ft == nullptr) continue;
    uint64_t params = ft->sig.param_types.size();
    uint64_t results = ft->sig.result_types.size();
    if (params > kMaxTypeArity || results > kMaxTypeArity) {
      return InvalidArgument(Over("function type with parameters/results",
                                  std::max(params, results), kMaxTypeArity, nullptr));
    }
  }
  uint64_t total = 0;
  for (size_t i = 0; i < module.funcs.size(); ++i) {
    const wabt::Func* f = module.funcs[i];
    uint64_t locals = f->decl.sig.param_types.size();
    for (const auto& [type, count] : f->local_types.decls()) {
      (void)type;
      locals += count;
    }
    if (locals > limits.max_function_locals) {
      return InvalidArgument(Over("function #" + std::to_string(i) + " declares locals", locals,
                                  limits.max_function_locals, "max_function_locals"));
    }
    total += locals;
    if (total > limits.max_module_locals) {
      return InvalidArgument(Over("locals summed over all functions", total,
                                  limits.max_module_locals, "max_module_locals"));
    }
  }
  return OkStatus();
}

}  // namespace aether::wasm
