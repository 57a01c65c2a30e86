#include "control/validation.h"

#include <boost/json.hpp>

#include <array>

#include "common/units.h"

namespace aether::control {
namespace {

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsAlnum(char c) { return IsLowerAlnum(c) || (c >= 'A' && c <= 'Z'); }

// The first characters of untrusted input, for error messages.
std::string Excerpt(std::string_view s) {
  constexpr size_t kMax = 32;
  std::string out;
  for (char c : s.substr(0, kMax)) {
    out += (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) ? '?' : c;
  }
  if (s.size() > kMax) out += "...";
  return out;
}

}  // namespace

Status ValidateFunctionName(std::string_view name) {
  auto bad = [&](std::string why) {
    return InvalidArgument("invalid function name \"" + Excerpt(name) + "\": " + why);
  };
  if (name.empty()) return InvalidArgument("invalid function name: it is empty");
  if (name.size() > 63) return bad("at most 63 characters");
  if (!IsLowerAlnum(name[0])) return bad("must start with a lower-case letter or a digit");
  for (char c : name) {
    if (!IsLowerAlnum(c) && c != '_' && c != '-') {
      return bad("only lower-case letters, digits, '_' and '-' are allowed");
    }
  }
  if (name == "manifest") return bad("the name is reserved");
  return OkStatus();
}

Status ValidateNodeId(std::string_view id) {
  if (id.empty()) return InvalidArgument("invalid node_id: it is empty");
  bool ok = id.size() <= 128 && IsAlnum(id[0]);
  for (char c : id) ok = ok && (IsAlnum(c) || c == '.' || c == '_' || c == '-');
  if (!ok) {
    return InvalidArgument("invalid node_id \"" + Excerpt(id) +
                           "\": use letters, digits, '.', '_' and '-' (at most 128)");
  }
  return OkStatus();
}

Status ValidateEventType(std::string_view type) {
  bool ok = !type.empty() && type.size() <= 64 && IsLowerAlnum(type[0]);
  for (char c : type) ok = ok && (IsLowerAlnum(c) || c == '_' || c == '.' || c == '-');
  if (!ok) {
    return InvalidArgument("invalid event type \"" + Excerpt(type) +
                           "\": use lower-case letters, digits, '_', '.' and '-' (at most 64)");
  }
  return OkStatus();
}

Status ValidateNodeUrl(std::string_view url) {
  std::string_view rest;
  if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else if (url.starts_with("https://")) {
    rest = url.substr(8);
  } else {
    return InvalidArgument("invalid url: must start with http:// or https://");
  }
  if (url.size() > 2048) return InvalidArgument("invalid url: longer than 2048 characters");
  if (rest.empty() || rest[0] == '/' || rest[0] == ':') return InvalidArgument("invalid url: no host");
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      return InvalidArgument("invalid url: contains spaces or control characters");
    }
  }
  return OkStatus();
}

bool IsSha256Hex(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

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

Result<EnvMap> EnvFromJson(const boost::json::value& v, std::string_view field,
                           const EnvLimits& limits) {
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
    for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(alphabet[i])] = static_cast<int8_t>(i);
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
        return ResourceExhausted("the module is larger than " + std::to_string(max_bytes >> 20) + " MiB");
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
