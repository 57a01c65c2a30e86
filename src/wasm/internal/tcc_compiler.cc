#include <libtcc.h>

#include "wasm/internal/compiler.h"

namespace aether::wasm {
namespace {
constexpr const char* kTccLibDir = "/usr/lib/x86_64-linux-gnu/tcc";
}  // namespace

Status CompileWithTcc(const std::string& c_unit, const std::string& out_path) {
  // libtcc 0.9.27 keeps global state; the compiler process runs one job.
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

}  // namespace aether::wasm
