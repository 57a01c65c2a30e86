#include "protocol/ids.h"

#include "protocol/internal/chars.h"
#include "protocol/names.h"

namespace aether::protocol {

bool IsNodeId(std::string_view id) {
  if (id.empty() || id.size() > kMaxNodeIdLength || !internal::IsAlnum(id[0])) return false;
  for (char c : id) {
    if (!internal::IsAlnum(c) && c != '.' && c != '_' && c != '-') return false;
  }
  return true;
}

Status ValidateNodeId(std::string_view id, std::string_view what) {
  if (id.empty()) return InvalidArgument("invalid " + std::string(what) + ": it is empty");
  if (!IsNodeId(id)) {
    return InvalidArgument("invalid " + std::string(what) + " \"" + Excerpt(id) +
                           "\": use letters, digits, '.', '_' and '-' (at most 128)");
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
  if (url.size() > kMaxNodeUrlLength) {
    return InvalidArgument("invalid url: longer than 2048 characters");
  }
  if (rest.empty() || rest[0] == '/' || rest[0] == ':')
    return InvalidArgument("invalid url: no host");
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      return InvalidArgument("invalid url: contains spaces or control characters");
    }
  }
  return OkStatus();
}

std::string InstanceId(std::string_view workflow, std::string_view component, int index) {
  std::string id;
  id.reserve(workflow.size() + component.size() + 6);
  id.append(workflow).append("/").append(component).append("/").append(std::to_string(index));
  return id;
}

std::optional<InstanceIdParts> ParseInstanceId(std::string_view id) {
  size_t a = id.find('/');
  if (a == std::string_view::npos) return std::nullopt;
  size_t b = id.find('/', a + 1);
  if (b == std::string_view::npos) return std::nullopt;
  InstanceIdParts parts{id.substr(0, a), id.substr(a + 1, b - a - 1)};
  std::string_view index = id.substr(b + 1);
  if (!IsName(parts.workflow) || !IsName(parts.component)) return std::nullopt;
  if (index.empty() || index.size() > 4 || (index.size() > 1 && index[0] == '0')) {
    return std::nullopt;
  }
  for (char c : index) {
    if (c < '0' || c > '9') return std::nullopt;
    parts.index = parts.index * 10 + (c - '0');
  }
  if (parts.index > kMaxInstanceIndex) return std::nullopt;
  return parts;
}

bool IsSha256Hex(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace aether::protocol
