// Checks an untrusted module against ModuleLimits before it is translated.
// Runs in the confined compiler process only.
#pragma once

#include <cstdint>
#include <span>

#include "common/result.h"
#include "wasm/module_limits.h"

namespace wabt {
struct Module;
}

namespace aether::wasm {

// Walks the binary's sections (no validation: wabt does that) and checks
// the code section's size and each function body's size. Malformed framing
// is left for wabt to report, so this never rejects what wabt would explain
// better; it only refuses what is over a limit.
Status CheckCodeSizes(std::span<const uint8_t> wasm, const ModuleLimits& limits);

// Counts on the parsed module: functions, locals (per function and summed),
// tables and their sizes, imports, exports, name lengths, type arity.
Status CheckModuleShape(const wabt::Module& module, const ModuleLimits& limits);

}  // namespace aether::wasm
