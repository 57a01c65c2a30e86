// Checks of what users and nodes send, shared by the API handlers. Every
// error is InvalidArgument with a message that names the offending field and
// never echoes more than a short prefix of the input.
// Pure functions: any thread may call them.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "common/config.h"
#include "common/result.h"

namespace aether::control {

// Per-function limits accepted at deploy (nodes cap them further).
inline constexpr uint64_t kMaxMemoryLimit = 4ull << 30;  // wasm32's address space
inline constexpr std::chrono::hours kMaxTimeout{1};

// Names, node ids, event types, urls and digests: protocol/names.h and
// protocol/ids.h (the same rules on both sides of the wire).

using EnvMap = std::map<std::string, std::string>;

// Per function: at most this many env variables, this many bytes in all
// (keys + values). From [runtime] max_env_vars / max_env_size.
struct EnvLimits {
  size_t max_vars = RuntimeConfig{}.max_env_vars;
  uint64_t max_bytes = RuntimeConfig{}.max_env_size;
};
EnvLimits EnvLimitsOf(const RuntimeConfig& runtime);

// Env names `[A-Za-z_][A-Za-z0-9_]*` (at most 256 characters), values
// without NUL bytes, within `limits`.
Status ValidateEnv(const EnvMap& env, const EnvLimits& limits);
// The JSON text of an object of strings (or null: no variables) to an
// EnvMap, then ValidateEnv. `field` names it in errors ("env").
Result<EnvMap> EnvFromJson(std::string_view json, std::string_view field, const EnvLimits& limits);
// "K=V" (from a query parameter) into `env`; later duplicates win.
Status AddEnvAssignment(std::string_view assignment, EnvMap& env);

// Optional per-function settings; 0 = the node's default.
struct FunctionLimits {
  uint64_t memory_limit = 0;  // bytes
  std::chrono::milliseconds timeout{0};
};
// "16MB" → bytes in (0, kMaxMemoryLimit]; errors name `field`.
Result<uint64_t> ParseMemoryLimit(std::string_view text, std::string_view field);
// "3s" → whole milliseconds in [1ms, kMaxTimeout]; errors name `field`.
Result<std::chrono::milliseconds> ParseTimeout(std::string_view text, std::string_view field);

// Strict standard base64 (RFC 4648 §4) with padding; line breaks (CR, LF)
// are skipped so that the output of `base64 FILE` works. Anything else that
// is not in the alphabet is an error. Stops with ResourceExhausted as soon
// as the output would exceed `max_bytes`.
Result<std::string> DecodeBase64(std::string_view text, uint64_t max_bytes);

}  // namespace aether::control
