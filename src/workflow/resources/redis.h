// redis: writes every payload to a key of a Redis server, through hiredis.
//
// "mode" set: SET key <payload>; rpush: RPUSH key <payload>. Binary-safe.
// A call does the same ("call": "write", the default) or, with "call":
// "get" (EDGELESS's meaning), GETs the key its payload names (prefixed
// "<workflow>:" with add-workflow-id) and answers the value (NotFound for
// no such key). Without a "key" (allowed only with "get") casts fail.
// A write call replies "OK" (set) or the list's new length (rpush), or the error:
// Unavailable while the server cannot be reached, Internal with Redis's own
// error, DeadlineExceeded when the answer takes longer than the call's
// timeout. A cast is queued (bounded: ResourceExhausted when full) and its
// failure goes to report_failure.
//
// Every command, calls too, runs in order on the resource's own thread,
// which owns the one connection: a call sees the casts sent before it.
// The connection is made lazily (creating the resource never fails for a
// Redis that is down, so one that starts later just works), with a
// connect timeout and a command timeout from ctx.limits ([workflow]
// redis_connect_timeout, redis_command_timeout). After a failed connect, commands fail at once
// (no waiting on a dead server) until the next attempt, after a backoff of
// 100 ms doubling to 5 s, reset by a success. A command whose connection
// broke (a server restart) is retried once on a fresh connection. No AUTH
// or SELECT: the configuration has no password or database.
#pragma once

#include <chrono>
#include <memory>

#include "common/resource_config.h"
#include "workflow/resource.h"

namespace aether::workflow::resources {

inline constexpr std::chrono::milliseconds kRedisMinBackoff{100};
inline constexpr std::chrono::milliseconds kRedisMaxBackoff{5000};
// Queued casts: at most ctx.limits.redis_queue_length, holding at most
// kRedisQueueBytes of payload.
inline constexpr uint64_t kRedisQueueBytes = 32ull << 20;

std::unique_ptr<Resource> NewRedis(ResourceContext ctx, RedisConfig config);

}  // namespace aether::workflow::resources
