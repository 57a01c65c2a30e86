// Long-lived instances of AOT-compiled modules (Engine::Instantiate).
#pragma once

#include <memory>

#include "common/result.h"
#include "wasm/engine.h"
#include "wasm/internal/aot_module.h"
#include "wasm/internal/runtime.h"

namespace aether::wasm {

// Instantiates `module` (which must be owned by a shared_ptr, as the
// engine's modules are; the instance keeps it loaded). `runtime` must
// outlive the instance. Errors as Engine::Instantiate.
Result<std::unique_ptr<Instance>> InstantiateAot(Runtime& runtime, const AotModule& module,
                                                 InstanceOptions options);

}  // namespace aether::wasm
