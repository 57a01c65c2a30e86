// Directories whose files only this process's user may read: module bytes
// (which may embed secrets) and whatever is derived from them.
//
// Any thread; the file system is the only shared state.
#pragma once

#include <string>

#include "common/result.h"

namespace aether {

// Creates `dir` (with missing parents) if needed and sets its mode to 0700;
// regular files directly in it that grant group or other users any access
// are set to 0600 (left by an older version or a permissive umask). New
// files belong there with mode 0600 (open(..., 0600)).
// Errors: Unavailable naming the path (not creatable, not ours to chmod).
Status MakePrivateDir(const std::string& dir);

}  // namespace aether
