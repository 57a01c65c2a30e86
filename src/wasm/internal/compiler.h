// The two C compilers that turn a compilation unit (wasm2c output + glue)
// into a shared object. They run inside the confined compiler process
// (worker/compiler_main.cc), never in the engine: a compiler bug reachable
// from a crafted module must not be a bug in the engine.
#pragma once

#include <functional>
#include <string>
#include <string_view>

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

// Hands text to tcc; `last` ends the unit, so tcc finishes while the
// producer cleans up. An error when tcc has stopped (its error is the one
// CompileWithTccWhile returns) or the pipe failed.
using UnitWriter = std::function<Status(std::string_view text, bool last)>;
using UnitProducer = std::function<Status(const UnitWriter&)>;

// CompileWithTcc of the unit `produce` writes, compiled while it is
// written: tcc reads it through a pipe on a second thread, so a unit
// produced piece by piece (internal/unit_stream.h) compiles alongside its
// production. tcc sees only what `produce` writes. The shared object is
// written only when `produce` returns OK and tcc succeeds; `produce`'s own
// error comes first. Unavailable, before `produce` is called, when the
// pipe cannot be named through /proc or the thread cannot start: the caller
// then builds the unit whole and calls CompileWithTcc.
Status CompileWithTccWhile(const UnitProducer& produce, const std::string& out_path,
                           TccHeaders headers = TccHeaders::kStubs);

// Optimized tier: `cc` -O2 as a child process. Writes the source into the
// current directory first. The child inherits the caller's limits.
Status CompileWithCc(const std::string& cc, const std::string& c_unit, const std::string& out_path);

}  // namespace aether::wasm
