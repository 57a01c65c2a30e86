// file-pusher (EDGELESS's class): casts the content of one file at every
// period to the output "out", going through the files in name order and
// starting again after the last (round-robin). A trigger: it takes no
// events (Cast and Call are FailedPrecondition).
//
// The files are the operator's, not the workflow's: they are the regular
// files directly in <data_dir>/file-pusher (kFilePusherDir; the engine's
// data dir), which an operator fills. A workflow cannot name a directory,
// so it cannot read other files of the node. Subdirectories, symlinks
// (never followed: each file is opened with O_NOFOLLOW) and other
// non-regular entries are skipped, as are files over kFilePusherMaxFileBytes
// and the files past kFilePusherMaxFiles or kFilePusherMaxTotalBytes (one
// warning in the log lists what was skipped).
//
// The files are read once, on the resource's thread when it starts (as
// EDGELESS does): a later change needs the resource to restart. A missing
// or unreadable directory, or one without a file to push, is a reported
// failure; the resource then runs and casts nothing.
//
// Fixed rate as the timer (timer.h): the first cast comes one period after
// the start. A cast that fails (the output's mailbox full, ...) is counted
// with report_failure; while "out" is not mapped nothing is cast, and the
// turn still passes to the next file. "encode-base64" casts the content
// base64-encoded; otherwise as it is (bytes; EDGELESS sends "" for a file
// that is not UTF-8).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "common/resource_config.h"
#include "workflow/resource.h"

namespace aether::workflow::resources {

inline constexpr std::string_view kFilePusherDir = "file-pusher";  // under the data dir
inline constexpr size_t kFilePusherMaxFiles = 1000;
inline constexpr uint64_t kFilePusherMaxFileBytes = 1u << 20;
// Every instance holds its own copy of the files: this bounds its memory.
inline constexpr uint64_t kFilePusherMaxTotalBytes = 64u << 20;

std::unique_ptr<Resource> NewFilePusher(ResourceContext ctx, FilePusherConfig config);

}  // namespace aether::workflow::resources
