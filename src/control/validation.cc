#include "control/validation.h"

#include <boost/json.hpp>

#include "common/base64.h"
#include "common/json_util.h"
#include "common/units.h"
#include "protocol/names.h"

namespace aether::control {
namespace {

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

using protocol::Excerpt;

}  // namespace

EnvLimits EnvLimitsOf(const RuntimeConfig& runtime) {
  return EnvLimits{runtime.max_env_vars, runtime.max_env_size};
}

Status ValidateEnv(const EnvMap& env, const EnvLimits& limits) {
  if (env.size() > limits.max_vars) {
    return InvalidArgument("env: at most " + std::to_string(limits.max_vars) +
                           " variables ([runtime] max_env_vars)");
  }
  size_t total = 0;
  for (const auto& [k, v] : env) {
    bool ok = !k.empty() && k.size() <= 256 && !(k[0] >= '0' && k[0] <= '9');
    for (char c : k) ok = ok && (IsAlnum(c) || c == '_');
    if (!ok) {
      return InvalidArgument("env: invalid variable name \"" + Excerpt(k) +
                             "\" (letters, digits and '_', not starting with a digit)");
    }
    if (v.find('\0') != std::string::npos) {
      return InvalidArgument("env: the value of " + k + " contains a NUL byte");
    }
    total += k.size() + v.size();
  }
  if (total > limits.max_bytes) {
    return InvalidArgument("env: larger than " + std::to_string(limits.max_bytes) +
                           " bytes in all ([runtime] max_env_size)");
  }
  return OkStatus();
}

Result<EnvMap> EnvFromJson(std::string_view json, std::string_view field, const EnvLimits& limits) {
  Result<boost::json::value> parsed = ParseJson(json);
  if (!parsed.ok()) {
    return InvalidArgument("field \"" + std::string(field) + "\": " + parsed.status().message());
  }
  const boost::json::value& v = *parsed;
  if (v.is_null()) return EnvMap();
  if (!v.is_object()) {
    return InvalidArgument("field \"" + std::string(field) + "\" must be an object of strings");
  }
  EnvMap env;
  for (const auto& [k, val] : v.get_object()) {
    if (!val.is_string()) {
      return InvalidArgument("field \"" + std::string(field) + "." + Excerpt(k) +
                             "\" must be a string");
    }
    env.emplace(std::string(k), std::string(val.get_string()));
  }
  RETURN_IF_ERROR(ValidateEnv(env, limits));
  return env;
}

Status AddEnvAssignment(std::string_view assignment, EnvMap& env) {
  size_t eq = assignment.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return InvalidArgument("env: expected NAME=VALUE, got \"" + Excerpt(assignment) + "\"");
  }
  env[std::string(assignment.substr(0, eq))] = std::string(assignment.substr(eq + 1));
  return OkStatus();
}

Result<uint64_t> ParseMemoryLimit(std::string_view text, std::string_view field) {
  Result<uint64_t> size = ParseSize(text);
  if (!size.ok()) {
    return InvalidArgument("field \"" + std::string(field) + "\": " + size.status().message());
  }
  if (*size == 0 || *size > kMaxMemoryLimit) {
    return InvalidArgument("field \"" + std::string(field) + "\" must be between 1B and 4GB");
  }
  return *size;
}

Result<std::chrono::milliseconds> ParseTimeout(std::string_view text, std::string_view field) {
  Result<std::chrono::nanoseconds> d = ParseDuration(text);
  if (!d.ok()) {
    return InvalidArgument("field \"" + std::string(field) + "\": " + d.status().message());
  }
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
  if (ms.count() < 1 || ms > kMaxTimeout) {
    return InvalidArgument("field \"" + std::string(field) + "\" must be between 1ms and 1h");
  }
  return ms;
}

Result<std::string> DecodeBase64(std::string_view text, uint64_t max_bytes) {
  Result<std::string> out = Base64Decode(text, {max_bytes, /*skip_line_breaks=*/true});
  if (out.ok()) {
    if (out->empty()) return InvalidArgument("wasm_b64 is empty");
    return out;
  }
  if (out.status().code() == Code::kResourceExhausted) {
    return ResourceExhausted("the module is larger than " + std::to_string(max_bytes >> 20) +
                             " MiB");
  }
  std::string_view why = out.status().message();
  if (why.starts_with("base64: ")) why.remove_prefix(8);
  return InvalidArgument("wasm_b64 is not valid base64 (" + std::string(why) + ")");
}

}  // namespace aether::control
