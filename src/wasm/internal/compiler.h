// Compilers that turn a C translation unit (wasm2c output + glue) into a
// shared object. Two tiers: tcc (in-process, tens of milliseconds) and the
// system C compiler at -O2 (seconds, native speed).
#pragma once

#include <memory>
#include <string>

#include "common/result.h"
#include "wasm/engine.h"

namespace aether::wasm {

class Compiler {
 public:
  virtual ~Compiler() = default;
  virtual Tier tier() const = 0;
  // Identifies the compiler and flags; part of the on-disk cache key.
  virtual const std::string& fingerprint() const = 0;
  // Compiles `c_unit` into the shared object `out_path` (written in place;
  // the caller renames it into the cache). Thread-safe.
  virtual Status Compile(const std::string& c_unit, const std::string& out_path) = 0;
};

std::unique_ptr<Compiler> NewTccCompiler();
// `cc` is the compiler command ("cc", "gcc", "clang"); `scratch_dir` holds
// temporary sources.
std::unique_ptr<Compiler> NewCcCompiler(std::string cc, std::string scratch_dir);

}  // namespace aether::wasm
