#include "engine/manifest.h"

#include <boost/json.hpp>

#include "common/json_util.h"
#include "protocol/ids.h"
#include "protocol/names.h"

namespace aether::engine {
namespace {

namespace json = boost::json;

Result<ManifestFunction> ParseEntry(const json::object& o, size_t index) {
  auto field = [index](std::string_view name) {
    return "functions[" + std::to_string(index) + "]." + std::string(name);
  };
  ManifestFunction f;
  ASSIGN_OR_RETURN(f.name, GetString(o, "name"));
  if (!protocol::IsName(f.name)) {
    return InvalidArgument("field \"" + field("name") + "\" is not a valid function name");
  }
  ASSIGN_OR_RETURN(f.sha256, GetString(o, "sha256"));
  if (!protocol::IsSha256Hex(f.sha256)) {
    return InvalidArgument("field \"" + field("sha256") + "\" must be 64 lower-case hex digits");
  }
  ASSIGN_OR_RETURN(f.version, GetInt(o, "version", 0));
  ASSIGN_OR_RETURN(int64_t size, GetInt(o, "size", 0));
  ASSIGN_OR_RETURN(int64_t memory, GetInt(o, "memory_limit_bytes", 0));
  ASSIGN_OR_RETURN(int64_t timeout_ms, GetInt(o, "timeout_ms", 0));
  if (size < 0 || memory < 0 || timeout_ms < 0) {
    return InvalidArgument("negative size, memory_limit_bytes or timeout_ms in " + field("*"));
  }
  f.size = static_cast<uint64_t>(size);
  f.settings.memory_limit = static_cast<uint64_t>(memory);
  f.settings.timeout = std::chrono::milliseconds(timeout_ms);
  ASSIGN_OR_RETURN(const json::value* env, FindField(o, "env"));
  if (env != nullptr && !env->is_null()) {
    if (!env->is_object())
      return InvalidArgument("field \"" + field("env") + "\" must be an object");
    for (const auto& [k, v] : env->get_object()) {
      if (!v.is_string()) {
        return InvalidArgument("field \"" + field("env") + "\" must map names to strings");
      }
      std::string kv(k);
      kv += '=';
      kv.append(v.get_string().data(), v.get_string().size());
      f.settings.env.push_back(std::move(kv));
    }
  }
  return f;
}

}  // namespace

Result<Manifest> ParseManifest(std::string_view text) {
  ASSIGN_OR_RETURN(json::object root, ParseJsonObject(text, "the manifest"));
  Manifest m;
  ASSIGN_OR_RETURN(m.revision, GetInt(root, "revision", 0));
  ASSIGN_OR_RETURN(const json::array* fns, GetArray(root, "functions"));
  m.functions.reserve(fns->size());
  for (size_t i = 0; i < fns->size(); ++i) {
    if (!(*fns)[i].is_object()) {
      return InvalidArgument("field \"functions[" + std::to_string(i) + "]\" must be an object");
    }
    ASSIGN_OR_RETURN(ManifestFunction f, ParseEntry((*fns)[i].get_object(), i));
    m.functions.push_back(std::move(f));
  }
  return m;
}

}  // namespace aether::engine
