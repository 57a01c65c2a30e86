// `aether workflow apply`: turning the code paths of a spec into modules.
// `.wasm` files are read as they are; `.c` files are compiled with clang-14
// and wasi-libc, `.rs` files with Debian's rustc, both as WASI reactors, the
// same way tests/guests/CMakeLists.txt builds the SDK's examples.
//
// Single-threaded: one builder per command run.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cli/workflow_code.h"
#include "common/result.h"

namespace aether::cli {

// Where the C SDK (the directory with aether.h) is looked for, first match
// wins; see FindSdkDir.
struct SdkSearch {
  std::string flag;      // --sdk DIR
  std::string env;       // $AETHER_SDK
  std::string spec_dir;  // the spec file's directory
  std::string cwd;       // the current directory
  std::string exe;       // this executable (/proc/self/exe)
  std::vector<std::string> system = {"/usr/local/share/aether/sdk", "/usr/share/aether/sdk"};
};

// The SDK directory: --sdk, then $AETHER_SDK (each must hold aether.h, else
// InvalidArgument), then functions/sdk in the spec's directory or any parent
// (a spec inside an Aether source tree), the same from the current
// directory, then <exe dir>/../share/aether/sdk (an installed CLI) or
// functions/sdk in any parent of the executable's directory (build/bin in a
// source tree), then the system directories. "" when none has aether.h.
Result<std::string> FindSdkDir(const SdkSearch& search);

// `name` as found on `path_env` (a $PATH value); "" when absent.
std::string FindProgram(const std::string& name, const std::string& path_env);

// The tools a build uses; empty = not installed.
struct Toolchain {
  std::string clang;    // clang-14 (or clang)
  std::string rustc;    // /usr/bin/rustc first: a rustup toolchain may lack wasm32-wasi
  std::string wasm_ld;  // wasm-ld-14 (or wasm-ld), rustc's linker
  std::string sdk_dir;  // FindSdkDir; "" = none (then .c files compile without -I)
};
// Looks the tools up on $PATH.
Toolchain FindToolchain(std::string sdk_dir);

// The compiler command line that builds `ref` (a .c or .rs file) into `out`.
std::vector<std::string> BuildCommand(const CodeRef& ref, const Toolchain& tc,
                                      const std::string& out);

// Produces the module of a code path. Fakes in tests.
class ModuleBuilder {
 public:
  virtual ~ModuleBuilder() = default;
  // The module's bytes. Errors, with the spec file and ref.field first:
  //   InvalidArgument     the file cannot be read, or is empty
  //   FailedPrecondition  the compiler is not installed; or the compile
  //                       failed: a one-line summary, then "\n" and the
  //                       compiler's own output
  virtual Result<std::string> Build(const CodeRef& ref) = 0;
};

// Builds in a fresh temporary directory (removed with the builder); each
// source path is built once however many components name it.
std::unique_ptr<ModuleBuilder> NewToolchainBuilder(Toolchain tc, std::string spec_file);

}  // namespace aether::cli
