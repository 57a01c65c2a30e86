// Blocking TCP client sockets with deadlines, for the keep-alive HTTP
// clients (common/http_pool.h, the engine's dataplane) that drive Beast
// synchronously over a plain fd.
#pragma once

#include <chrono>
#include <string>

#include "common/result.h"

namespace aether {

// Resolves and connects within `timeout` (a blocking connect to a dead host
// would wait for the kernel's SYN retries, minutes). The fd is blocking,
// close-on-exec, with TCP_NODELAY. Errors: Unavailable naming host:port.
Result<int> ConnectWithTimeout(const std::string& host, const std::string& port,
                               std::chrono::milliseconds timeout);

// SO_RCVTIMEO and SO_SNDTIMEO: a read or write that waits longer fails.
void SetSocketTimeouts(int fd, std::chrono::milliseconds timeout);

}  // namespace aether
