#include "wasm/internal/translate.h"

#include <wabt/apply-names.h>
#include <wabt/binary-reader-ir.h>
#include <wabt/binary-reader.h>
#include <wabt/c-writer.h>
#include <wabt/cast.h>
#include <wabt/error-formatter.h>
#include <wabt/feature.h>
#include <wabt/generate-names.h>
#include <wabt/ir.h>
#include <wabt/stream.h>
#include <wabt/validator.h>

#include "wasm/internal/data_literals.h"
#include "wasm/internal/exit_frees.h"
#include "wasm/internal/limits_check.h"

namespace aether::wasm {
namespace {

wabt::Features SupportedFeatures() {
  wabt::Features f;  // defaults: mutable globals, sat conversions, sign ext, multi-value, bulk
                     // memory, ref types
  f.disable_simd();  // wasm2c 1.0.32 emits SIMD through a header we do not ship
  f.disable_exceptions();
  f.disable_threads();
  return f;
}

char TypeChar(wabt::Type t) {
  switch (t) {
    case wabt::Type::I32:
      return 'i';
    case wabt::Type::I64:
      return 'I';
    case wabt::Type::F32:
      return 'f';
    case wabt::Type::F64:
      return 'F';
    default:
      return '?';
  }
}

std::string Signature(const wabt::FuncSignature& sig) {
  std::string s;
  if (sig.result_types.empty()) {
    s += 'v';
  } else {
    for (auto t : sig.result_types) s += TypeChar(t);
  }
  s += ':';
  for (auto t : sig.param_types) s += TypeChar(t);
  return s;
}

std::string FirstLines(std::string text, size_t max_lines) {
  size_t pos = 0;
  for (size_t i = 0; i < max_lines && pos != std::string::npos; ++i) {
    pos = text.find('\n', pos == 0 ? 0 : pos + 1);
  }
  if (pos != std::string::npos) text.resize(pos);
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

Status ReadAndValidate(std::span<const uint8_t> wasm, const ModuleLimits& limits,
                       wabt::Module* module) {
  if (wasm.size() < 8 || wasm[0] != 0 || wasm[1] != 'a' || wasm[2] != 's' || wasm[3] != 'm') {
    return InvalidArgument("invalid module: not a WebAssembly binary (missing \\0asm magic)");
  }
  // A component (WASI 0.2: what `cargo component` and Spin build) has
  // version 0x0d and layer 1; wabt would only say "bad wasm file version".
  if (wasm[4] == 0x0d && wasm[5] == 0 && wasm[6] == 1 && wasm[7] == 0) {
    return InvalidArgument(
        "invalid module: this is a WebAssembly component (the component model, WASI 0.2); "
        "Aether runs WASI preview1 core modules: build for wasm32-wasip1 (Rust: cargo build "
        "--target wasm32-wasip1; C: clang --target=wasm32-wasi) - docs/wasi.md");
  }
  if (wasm[4] != 1 || wasm[5] != 0 || wasm[6] != 0 || wasm[7] != 0) {
    return InvalidArgument("invalid module: WebAssembly binary version " +
                           std::to_string(wasm[4] | wasm[5] << 8 | wasm[6] << 16 | wasm[7] << 24) +
                           " is not supported (Aether runs version 1 core modules)");
  }
  RETURN_IF_ERROR(CheckCodeSizes(wasm, limits));
  wabt::Errors errors;
  wabt::Features features = SupportedFeatures();
  // No debug names: the name section is free text that nothing needs, and
  // every name that reaches wasm2c is a risk (see kImportModuleAlias).
  wabt::ReadBinaryOptions options(features, nullptr, /*read_debug_names=*/false,
                                  /*stop_on_first_error=*/true,
                                  /*fail_on_custom_section_error=*/false);
  wabt::Result r =
      wabt::ReadBinaryIr("module.wasm", wasm.data(), wasm.size(), options, &errors, module);
  if (wabt::Succeeded(r)) {
    // Before validation and translation, whose cost grows with these counts.
    RETURN_IF_ERROR(CheckModuleShape(*module, limits));
    wabt::ValidateOptions vopts(features);
    r = wabt::ValidateModule(module, &errors, vopts);
  }
  if (wabt::Failed(r)) {
    std::string msg = wabt::FormatErrorsToString(errors, wabt::Location::Type::Binary);
    return InvalidArgument("invalid module: " + FirstLines(msg, 3));
  }
  return OkStatus();
}

Result<ModuleInfo> Describe(const wabt::Module& module) {
  ModuleInfo info;
  for (const wabt::Import* imp : module.imports) {
    std::string what = imp->module_name + "." + imp->field_name;
    switch (imp->kind()) {
      case wabt::ExternalKind::Func: {
        const auto* fi = wabt::cast<wabt::FuncImport>(imp);
        info.imports.push_back({imp->module_name, imp->field_name, Signature(fi->func.decl.sig)});
        break;
      }
      case wabt::ExternalKind::Memory:
        return InvalidArgument("unsupported module: imports memory " + what +
                               " (define and export the memory instead)");
      case wabt::ExternalKind::Table:
        return InvalidArgument("unsupported module: imports table " + what);
      case wabt::ExternalKind::Global:
        return InvalidArgument("unsupported module: imports global " + what);
      default:
        return InvalidArgument("unsupported module: imports " + what);
    }
  }
  for (const wabt::Export* e : module.exports) {
    if (e->kind == wabt::ExternalKind::Func) {
      const wabt::Func* f = module.GetFunc(e->var);
      if (f != nullptr) info.export_funcs.emplace_back(e->name, Signature(f->decl.sig));
    }
    if (e->kind == wabt::ExternalKind::Memory && e->name == "memory") info.exports_memory = true;
  }
  if (!module.memories.empty()) {
    info.has_memory = true;
    info.initial_pages = module.memories[0]->page_limits.initial;
  }
  return info;
}

// Replaces every import and export name with a synthetic one (see
// kImportModuleAlias) and returns the real export names by index. Runs
// before GenerateNames, which derives function, memory and table names
// from these.
std::vector<std::string> UseSyntheticNames(wabt::Module* module) {
  for (size_t i = 0; i < module->imports.size(); ++i) {
    // Built by append and move-assigned: GCC 12 at -O3 (a Release build)
    // reports a bogus -Wrestrict overlap in std::string's replace, which
    // copy-assigning a C string and "i" + std::string both inline.
    module->imports[i]->module_name = std::string(kImportModuleAlias);
    module->imports[i]->field_name = std::string("i").append(std::to_string(i));
  }
  std::vector<std::string> real;
  real.reserve(module->exports.size());
  for (size_t i = 0; i < module->exports.size(); ++i) {
    real.push_back(std::move(module->exports[i]->name));
    module->exports[i]->name = std::string("e").append(std::to_string(i));
  }
  module->export_bindings.clear();
  return real;
}

// Validates, describes and renames `module` for wasm2c; `accept` (may be
// null) sees the description first.
Result<Translation> Prepare(std::span<const uint8_t> wasm, const ModuleLimits& limits,
                            const ModuleCheck* accept, wabt::Module* module) {
  RETURN_IF_ERROR(ReadAndValidate(wasm, limits, module));
  Translation t;
  ASSIGN_OR_RETURN(t.info, Describe(*module));
  if (accept != nullptr && *accept) RETURN_IF_ERROR((*accept)(t.info));
  t.export_names = UseSyntheticNames(module);
  if (wabt::Failed(wabt::GenerateNames(module))) {
    return Internal("wasm2c: cannot generate names for the module");
  }
  (void)wabt::ApplyNames(module);  // best effort, as wasm2c itself does
  return t;
}

Status WriteC(const wabt::Module& module, wabt::Stream* c, wabt::Stream* h) {
  wabt::WriteCOptions options;
  options.module_name = kGuestModuleName;
  std::string header_name = std::string(kGuestModuleName) + ".h";
  if (wabt::Failed(wabt::WriteC(c, h, header_name.c_str(), &module, options))) {
    return Internal("wasm2c: translation to C failed");
  }
  return OkStatus();
}

std::string AsString(wabt::MemoryStream& s) {  // wabt has no const accessor
  const auto& d = s.output_buffer().data;
  return std::string(d.begin(), d.end());
}

// wasm2c's source stream, handed to a SourceSink as it is written. At the
// first byte the header is complete (wasm2c writes it first), so the sink
// gets it then, with the rest of the translation.
class SinkStream final : public wabt::Stream {
 public:
  SinkStream(SourceSink* sink, Translation* t, wabt::MemoryStream* header)
      : sink_(sink), t_(t), header_(header) {}

  const Status& status() const { return status_; }
  bool begun() const { return begun_; }

 protected:
  wabt::Result WriteDataImpl(size_t /*offset*/, const void* data, size_t size) override {
    if (!status_.ok()) return wabt::Result::Error;
    if (!begun_) {
      begun_ = true;
      t_->c_header = AsString(*header_);
      status_ = sink_->Begin(*t_);
    }
    if (status_.ok())
      status_ = sink_->Write(std::string_view(static_cast<const char*>(data), size));
    return status_.ok() ? wabt::Result::Ok : wabt::Result::Error;
  }
  // wasm2c only appends; these would mean bytes already handed on change.
  wabt::Result MoveDataImpl(size_t, size_t, size_t) override { return Refuse(); }
  wabt::Result TruncateImpl(size_t) override { return Refuse(); }

 private:
  wabt::Result Refuse() {
    if (status_.ok()) status_ = Internal("wasm2c: rewrote C source already written");
    return wabt::Result::Error;
  }

  SourceSink* sink_;
  Translation* t_;
  wabt::MemoryStream* header_;
  Status status_;
  bool begun_ = false;
};

// wabt's IR of one module (a node per instruction), freed with the holder
// unless the process leaves that to its exit (exit_frees.h).
class ModuleIr {
 public:
  ModuleIr() : module_(new wabt::Module) {}
  ~ModuleIr() {
    if (!FreeingLeftToExit()) delete module_;
  }
  ModuleIr(const ModuleIr&) = delete;
  ModuleIr& operator=(const ModuleIr&) = delete;
  wabt::Module* get() const { return module_; }
  wabt::Module& operator*() const { return *module_; }

 private:
  wabt::Module* module_;  // NOLINT(cppcoreguidelines-owning-memory): see the destructor
};

}  // namespace

Result<ModuleInfo> ValidateInProcess(std::span<const uint8_t> wasm, const ModuleLimits& limits) {
  ModuleIr module;
  RETURN_IF_ERROR(ReadAndValidate(wasm, limits, module.get()));
  return Describe(*module);
}

Result<Translation> TranslateInProcess(std::span<const uint8_t> wasm, const ModuleLimits& limits) {
  ModuleIr module;
  ASSIGN_OR_RETURN(Translation t, Prepare(wasm, limits, nullptr, module.get()));
  wabt::MemoryStream c_stream;
  wabt::MemoryStream h_stream;
  // wasm2c writes ~9 bytes of C per byte of wasm in small pieces; growing
  // the buffer as it goes costs a tenth of the translation.
  c_stream.output_buffer().data.reserve(wasm.size() * 8);
  RETURN_IF_ERROR(WriteC(*module, &c_stream, &h_stream));
  const auto& c = c_stream.output_buffer().data;
  t.c_source =
      DataArraysAsStrings(std::string_view(reinterpret_cast<const char*>(c.data()), c.size()));
  t.c_header = AsString(h_stream);
  return t;
}

Result<Translation> TranslateInto(std::span<const uint8_t> wasm, const ModuleLimits& limits,
                                  const ModuleCheck& accept, SourceSink& sink) {
  ModuleIr module;
  ASSIGN_OR_RETURN(Translation t, Prepare(wasm, limits, &accept, module.get()));
  wabt::MemoryStream h_stream;
  SinkStream c_stream(&sink, &t, &h_stream);
  Status written = WriteC(*module, &c_stream, &h_stream);
  RETURN_IF_ERROR(c_stream.status());
  RETURN_IF_ERROR(written);
  if (!c_stream.begun()) return Internal("wasm2c: the translation wrote no C source");
  // The sink took the header at the first byte of source; wasm2c writes
  // it whole before the source, and one that grew afterwards would not be
  // the one the sink inlined.
  if (AsString(h_stream) != t.c_header) {
    return Internal("wasm2c: the header changed after the source began");
  }
  RETURN_IF_ERROR(sink.End(t));
  return t;
}

}  // namespace aether::wasm
