// GET /node/prefetch (docs/api.md, "Node protocol"): the modules whose
// deploy is under way on a control plane replica, so that engines compile
// them while the control plane still validates and stores them. Advice
// only: the manifest alone decides what an engine serves.
//
// Pure functions: any thread may call them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace aether::protocol {

// More are not sent, and a list longer than this is refused: a replica has
// at most a few deploys under way at once.
inline constexpr size_t kMaxModuleHints = 64;

struct ModuleHint {
  std::string sha256;  // 64 lower-case hex digits
  uint64_t size = 0;   // bytes
  bool operator==(const ModuleHint&) const = default;
};

struct ModuleHints {
  // Moves with every announcement (not with a deploy's end); a poll with
  // `since` equal to it parks. Starts again at 0 when the replica restarts.
  int64_t revision = 0;
  std::vector<ModuleHint> modules;
};

// {"revision": R, "modules": [{"sha256": S, "size": N}, ...]}
std::string EncodeModuleHints(const ModuleHints& hints);

// Errors: InvalidArgument naming the field at fault (a bad sha256 fails the
// whole answer: the control plane sends only digests it computed).
Result<ModuleHints> ParseModuleHints(std::string_view json);

}  // namespace aether::protocol
