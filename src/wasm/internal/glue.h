// Generates the C glue compiled together with wasm2c output: definitions of
// the wasm_rt_* runtime functions and of every imported function as
// forwarders through aether_rt_api / the import table (see abi.h), plus
// fixed-name entry points the loader finds with dlsym.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"
#include "wasm/internal/translate.h"

namespace aether::wasm {

// Bump when the generated glue or abi.h changes: part of the cache key.
// 3: synthetic import/export names (modules cached by 2 may carry injected C).
inline constexpr int kGlueVersion = 3;

// Returns the complete C translation unit: prelude + wasm2c source (with its
// header inlined) + glue.
Result<std::string> BuildCompilationUnit(const Translation& t);

// The unit's pieces, for the fast tier, which builds the unit while wasm2c
// writes the source (internal/unit_stream.h):
//   UnitPrelude() + source, with GuestHeaderInclude() replaced by the
//   header + GlueTail(t)
std::string_view UnitPrelude();
std::string GuestHeaderInclude();
// From t.c_header, t.info and t.export_names; t.c_source is not used.
Result<std::string> GlueTail(const Translation& t);

}  // namespace aether::wasm
