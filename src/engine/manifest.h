// The control plane's manifest as the engine reads it (GET /node/manifest,
// and <data_dir>/manifest.json): which function names map to which module
// (sha256) with which settings. Pure functions: any thread may call them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "engine/function_registry.h"

namespace aether::engine {

struct ManifestFunction {
  std::string name;
  int64_t version = 0;
  std::string sha256;  // 64 lower-case hex digits
  uint64_t size = 0;
  FunctionSettings settings;  // limits as deployed (0 = the node's), not capped yet
  bool operator==(const ManifestFunction&) const = default;
};

struct Manifest {
  int64_t revision = 0;
  std::vector<ManifestFunction> functions;
};

// Errors: InvalidArgument naming the field at fault. An entry with an
// invalid name or sha256 fails the whole manifest: the control plane
// validates both, so such a manifest means a broken or foreign server.
Result<Manifest> ParseManifest(std::string_view json);

}  // namespace aether::engine
