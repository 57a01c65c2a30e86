// Runs libwabt on untrusted bytes in a child process. libwabt 1.0.32 (the
// Debian package) aborts on some malformed modules (an assertion in its
// binary reader, upstream issue 2199), which would take the engine or the
// control plane down with it; in a child, such a module is just rejected.
#pragma once

#include <span>

#include "common/result.h"
#include "wasm/internal/translate.h"

namespace aether::wasm {

using TranslateFn = Result<Translation> (*)(std::span<const uint8_t> wasm, bool emit_c);

// Forks, runs fn(wasm, emit_c) in the child, and returns its result. A child
// that dies (signal, abort) or runs past 60 s yields kInvalidArgument.
Result<Translation> RunIsolated(std::span<const uint8_t> wasm, bool emit_c, TranslateFn fn);

// The module description alone, for the sidecar file the compiled-module
// cache keeps next to each shared object (a restart then skips validation).
std::string EncodeModuleInfo(const ModuleInfo& info);
Result<ModuleInfo> DecodeModuleInfo(const std::string& data);

}  // namespace aether::wasm
