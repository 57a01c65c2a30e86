#include <libtcc.h>

#include <mutex>

#include "wasm/internal/compiler.h"

namespace aether::wasm {
namespace {

constexpr const char* kTccLibDir = "/usr/lib/x86_64-linux-gnu/tcc";

class TccCompiler final : public Compiler {
 public:
  TccCompiler() : fingerprint_("tcc-0.9.27-dll-v1") {}

  Tier tier() const override { return Tier::kFast; }
  const std::string& fingerprint() const override { return fingerprint_; }

  Status Compile(const std::string& c_unit, const std::string& out_path) override {
    // libtcc 0.9.27 keeps global state: one compilation at a time.
    std::lock_guard<std::mutex> lock(mu_);
    TCCState* s = tcc_new();
    if (s == nullptr) return Internal("tcc: cannot create a compiler state");
    std::string errors;
    tcc_set_error_func(s, &errors, [](void* opaque, const char* msg) {
      auto* e = static_cast<std::string*>(opaque);
      if (e->size() < 2000) *e += std::string(msg) + "\n";
    });
    tcc_set_lib_path(s, kTccLibDir);
    tcc_set_options(s, "-w");
    tcc_set_output_type(s, TCC_OUTPUT_DLL);
    Status st;
    if (tcc_compile_string(s, c_unit.c_str()) != 0) {
      st = Internal("tcc: compilation failed: " + errors);
    } else if (tcc_output_file(s, out_path.c_str()) != 0) {
      st = Internal("tcc: cannot write " + out_path + ": " + errors);
    }
    tcc_delete(s);
    return st;
  }

 private:
  std::mutex mu_;
  std::string fingerprint_;
};

}  // namespace

std::unique_ptr<Compiler> NewTccCompiler() { return std::make_unique<TccCompiler>(); }

}  // namespace aether::wasm
