// file-log: appends every event's payload as one line to
//   <data_dir>/workflows/<workflow>/<filename>
// (directories created 0750, the file 0640, opened O_APPEND when the
// resource is created, so a bad path or a full disk shows at once).
//
// One event = one line: a newline inside the payload is written as the two
// characters "\n" (a CR as "\r"); one trailing newline (or CRLF) is dropped
// first since the line gets its own. Other bytes, backslashes included,
// are written as they are, so JSON payloads stay JSON lines (and a payload
// that already holds a literal "\n" reads back the same as one that held a
// newline). Each line is one write(2).
//
// When the next line would take the file beyond max_bytes it is renamed to
// <filename>.1 (replacing the previous one) and a new file is started; a
// single line larger than max_bytes still gets written, alone in its file.
//
// Durability: no fsync per line (the page cache holds the last few seconds
// when the machine, not the engine, dies); rotation and Stop() fdatasync.
// Cast and Call are serialized by one mutex per resource: two file-log
// components of one workflow must not share a filename (the default,
// "<component>.log", never does). Call replies "ok".
#pragma once

#include <memory>

#include "common/resource_config.h"
#include "workflow/resource.h"

namespace aether::workflow::resources {

// Unavailable when the directory or the file cannot be created or opened,
// InvalidArgument when the workflow id or the filename is not a safe path
// component.
Result<std::unique_ptr<Resource>> NewFileLog(ResourceContext ctx, FileLogConfig config);

// The line written for `payload`, without its final '\n'. For tests.
std::string FileLogLine(std::string_view payload);

}  // namespace aether::workflow::resources
