// The defaults that more than one component starts from, defined once: the
// config ([runtime] in common/config.h), the sandbox's own defaults
// (wasm/engine.h, wasm/wasi/wasi.h), the engine's API, the workflow host
// and the gateway all refer here. docs/configuration.md has the table of
// every limit, its key and what happens when it is exceeded.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace aether {

// Linear memory per instance ([runtime] memory_limit).
inline constexpr uint64_t kDefaultMemoryLimit = 16ull << 20;
// Wall clock per execution ([runtime] exec_timeout).
inline constexpr std::chrono::milliseconds kDefaultExecTimeout{3000};
// Captured stdout / stderr per execution ([runtime] max_output).
inline constexpr uint64_t kDefaultMaxOutput = 16ull << 20;

// The engine's workflow runtime ([workflow] in common/config.h; the
// workflow host, the dataplane and the resources start from these too).
// Events waiting per instance ([workflow] mailbox_length).
inline constexpr size_t kDefaultMailboxLength = 1024;
// How long a full mailbox or link holds a sender before it is refused
// ([workflow] send_wait).
inline constexpr std::chrono::milliseconds kDefaultSendWait{1000};
// Events waiting per peer node ([workflow] dataplane_queue_length).
inline constexpr size_t kDefaultDataplaneQueueLength = 8192;
// The redis resource's connect and command timeouts and queued casts.
inline constexpr std::chrono::milliseconds kDefaultRedisConnectTimeout{1000};
inline constexpr std::chrono::milliseconds kDefaultRedisCommandTimeout{2000};
inline constexpr size_t kDefaultRedisQueueLength = 4096;
// The http-egress resource's queued casts.
inline constexpr size_t kDefaultHttpEgressQueueLength = 256;

}  // namespace aether
