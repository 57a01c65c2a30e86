#include "control/validation.h"

#include <array>
#include <boost/json.hpp>

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
  static constexpr std::array<int8_t, 256> kTable = [] {
    std::array<int8_t, 256> t{};
    t.fill(-1);
    const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 64; ++i)
      t[static_cast<unsigned char>(alphabet[i])] = static_cast<int8_t>(i);
    return t;
  }();
  std::string out;
  out.reserve(std::min<uint64_t>(text.size() / 4 * 3, max_bytes + 3));
  uint32_t acc = 0;
  int bits = 0;
  size_t symbols = 0;  // alphabet characters seen
  size_t padding = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\n' || c == '\r') continue;
    if (c == '=') {
      ++padding;
      continue;
    }
    int8_t v = kTable[c];
    if (v < 0 || padding > 0) {
      return InvalidArgument("wasm_b64 is not valid base64 (unexpected character at offset " +
                             std::to_string(i) + ")");
    }
    ++symbols;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
      if (out.size() > max_bytes) {
        return ResourceExhausted("the module is larger than " + std::to_string(max_bytes >> 20) +
                                 " MiB");
      }
    }
  }
  // Complete groups of 4 with '=' filling the last one; a lone symbol in a
  // group (6 bits) cannot encode a byte.
  bool ok = (symbols + padding) % 4 == 0 && padding <= 2 && symbols % 4 != 1 &&
            (padding == 0 || (4 - symbols % 4) % 4 == padding);
  if (!ok) return InvalidArgument("wasm_b64 is not valid base64 (bad length or padding)");
  if (symbols == 0) return InvalidArgument("wasm_b64 is empty");
  return out;
}

}  // namespace aether::control
