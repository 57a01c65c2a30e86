#include "protocol/names.h"

#include "common/sha256.h"
#include "protocol/internal/chars.h"

namespace aether::protocol {

bool IsName(std::string_view s) {
  if (s.empty() || s.size() > kMaxNameLength || !internal::IsLowerAlnum(s[0])) return false;
  for (char c : s) {
    if (!internal::IsLowerAlnum(c) && c != '_' && c != '-') return false;
  }
  return true;
}

std::string FitName(std::string name, size_t max) {
  constexpr size_t kHash = 8;
  if (name.size() <= max) return name;
  std::string hash = Sha256Hex(name).substr(0, kHash);
  name.resize(max - kHash - 1);
  return name + "-" + hash;
}

Status ValidateFunctionName(std::string_view name) {
  auto bad = [&](std::string why) {
    return InvalidArgument("invalid function name \"" + Excerpt(name) + "\": " + why);
  };
  if (name.empty()) return InvalidArgument("invalid function name: it is empty");
  if (name.size() > kMaxNameLength) return bad("at most 63 characters");
  if (!internal::IsLowerAlnum(name[0])) {
    return bad("must start with a lower-case letter or a digit");
  }
  if (!IsName(name)) return bad("only lower-case letters, digits, '_' and '-' are allowed");
  if (name == kReservedFunctionName) return bad("the name is reserved");
  return OkStatus();
}

Status ValidateEventType(std::string_view type) {
  bool ok = !type.empty() && type.size() <= 64 && internal::IsLowerAlnum(type[0]);
  for (char c : type) {
    ok = ok && (internal::IsLowerAlnum(c) || c == '_' || c == '.' || c == '-');
  }
  if (!ok) {
    return InvalidArgument("invalid event type \"" + Excerpt(type) +
                           "\": use lower-case letters, digits, '_', '.' and '-' (at most 64)");
  }
  return OkStatus();
}

std::string Excerpt(std::string_view s) {
  constexpr size_t kMax = 32;
  std::string out;
  for (char c : s.substr(0, kMax)) {
    auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u >= 0x7f) ? '?' : c;
  }
  if (s.size() > kMax) out += "...";
  return out;
}

}  // namespace aether::protocol
