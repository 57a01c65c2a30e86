// GET /node/manifest (docs/api.md, "Node protocol"): which function names
// map to which module (sha256) with which settings. The control plane
// encodes it once per revision; engines parse it from the control plane and
// from <data_dir>/manifest.json. GET /api/functions/manifest is the same
// text.
//
// Pure functions: any thread may call them.
#pragma once

#include <boost/json/fwd.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace aether::protocol {

struct ManifestEntry {
  std::string name;
  int64_t version = 0;
  std::string sha256;  // 64 lower-case hex digits
  uint64_t size = 0;
  std::vector<std::pair<std::string, std::string>> env;  // in the order sent
  // As deployed (0 = the node's), not capped yet.
  uint64_t memory_limit_bytes = 0;
  int64_t timeout_ms = 0;
  // For people reading the manifest (RFC 3339): this version's deploy, and
  // the function's last deploy or rollback.
  std::string uploaded_at;
  std::string updated_at;
  bool operator==(const ManifestEntry&) const = default;
};

struct Manifest {
  int64_t revision = 0;
  std::vector<ManifestEntry> functions;
};

// One entry: {"name", "version", "sha256", "size", "size_kb", "uploaded_at",
// "updated_at", "env", "memory_limit", "timeout", "memory_limit_bytes",
// "timeout_ms"} (the limits also in words, "16MB" / "3s", or null).
boost::json::object ManifestEntryJson(const ManifestEntry& entry);
// {"functions": [...], "revision": R}
std::string EncodeManifest(const Manifest& manifest);

// Errors: InvalidArgument naming the field at fault. An entry with an
// invalid name or sha256 fails the whole manifest: the control plane
// validates both, so such a manifest means a broken or foreign server.
// The informational fields (uploaded_at, updated_at) never fail it.
Result<Manifest> ParseManifest(std::string_view json);

}  // namespace aether::protocol
