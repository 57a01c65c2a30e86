// The two C compilers that turn a compilation unit (wasm2c output + glue)
// into a shared object. They run inside the confined compiler process
// (worker/compiler_main.cc), never in the engine: a compiler bug reachable
// from a crafted module must not be a bug in the engine.
#pragma once

#include <string>

#include "common/result.h"

namespace aether::wasm {

// Part of the on-disk cache key of each tier. The engine computes them
// (running `cc -dumpfullversion` is trusted: no module input).
inline std::string TccFingerprint() { return "tcc-0.9.27-dll-v1"; }
// `command` as an absolute path, found on this process's PATH when it has no
// slash; unchanged when it is not found (running it then fails with its
// name). The compiler process has a minimal PATH of its own, so the engine
// resolves the configured compiler with its own.
std::string ResolveCommand(const std::string& command);
std::string CcFingerprint(const std::string& cc);

// Fast tier: libtcc, in the calling process (the compiler process: only
// aether_wasm_compiler links libtcc). Writes `out_path`. kStubs (the
// default) compiles against Aether's cut-down C library headers, written
// beside `out_path` (aether-include/), which make the same object faster;
// kSystem uses /usr/include's, for the test that checks they are the same.
enum class TccHeaders { kStubs, kSystem };
Status CompileWithTcc(const std::string& c_unit, const std::string& out_path,
                      TccHeaders headers = TccHeaders::kStubs);

// Optimized tier: `cc` -O2 as a child process. Writes the source into the
// current directory first. The child inherits the caller's limits.
Status CompileWithCc(const std::string& cc, const std::string& c_unit, const std::string& out_path);

}  // namespace aether::wasm
