// The defaults that more than one component starts from, defined once: the
// config ([runtime] in common/config.h), the sandbox's own defaults
// (wasm/engine.h, wasm/wasi/wasi.h), the engine's API, the workflow host
// and the gateway all refer here. docs/configuration.md has the table of
// every limit, its key and what happens when it is exceeded.
#pragma once

#include <chrono>
#include <cstdint>

namespace aether {

// Linear memory per instance ([runtime] memory_limit).
inline constexpr uint64_t kDefaultMemoryLimit = 16ull << 20;
// Wall clock per execution ([runtime] exec_timeout).
inline constexpr std::chrono::milliseconds kDefaultExecTimeout{3000};
// Captured stdout / stderr per execution ([runtime] max_output).
inline constexpr uint64_t kDefaultMaxOutput = 16ull << 20;

}  // namespace aether
