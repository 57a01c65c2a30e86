#include "protocol/manifest.h"

#include <boost/json.hpp>

#include "common/json_util.h"
#include "common/units.h"
#include "protocol/ids.h"
#include "protocol/names.h"

namespace aether::protocol {
namespace {

namespace json = boost::json;

// A string field that only people read: anything else is ignored.
std::string Informational(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

Result<ManifestEntry> ParseEntry(const json::object& o, size_t index) {
  auto field = [index](std::string_view name) {
    return "functions[" + std::to_string(index) + "]." + std::string(name);
  };
  ManifestEntry f;
  ASSIGN_OR_RETURN(f.name, GetString(o, "name"));
  if (!IsName(f.name)) {
    return InvalidArgument("field \"" + field("name") + "\" is not a valid function name");
  }
  ASSIGN_OR_RETURN(f.sha256, GetString(o, "sha256"));
  if (!IsSha256Hex(f.sha256)) {
    return InvalidArgument("field \"" + field("sha256") + "\" must be 64 lower-case hex digits");
  }
  ASSIGN_OR_RETURN(f.version, GetInt(o, "version", 0));
  ASSIGN_OR_RETURN(int64_t size, GetInt(o, "size", 0));
  ASSIGN_OR_RETURN(int64_t memory, GetInt(o, "memory_limit_bytes", 0));
  ASSIGN_OR_RETURN(f.timeout_ms, GetInt(o, "timeout_ms", 0));
  if (size < 0 || memory < 0 || f.timeout_ms < 0) {
    return InvalidArgument("negative size, memory_limit_bytes or timeout_ms in " + field("*"));
  }
  f.size = static_cast<uint64_t>(size);
  f.memory_limit_bytes = static_cast<uint64_t>(memory);
  ASSIGN_OR_RETURN(const json::value* env, FindField(o, "env"));
  if (env != nullptr && !env->is_null()) {
    if (!env->is_object())
      return InvalidArgument("field \"" + field("env") + "\" must be an object");
    for (const auto& [k, v] : env->get_object()) {
      if (!v.is_string()) {
        return InvalidArgument("field \"" + field("env") + "\" must map names to strings");
      }
      f.env.emplace_back(std::string(k), std::string(v.get_string()));
    }
  }
  f.uploaded_at = Informational(o, "uploaded_at");
  f.updated_at = Informational(o, "updated_at");
  return f;
}

}  // namespace

json::object ManifestEntryJson(const ManifestEntry& e) {
  json::object env;
  for (const auto& [k, val] : e.env) env[k] = val;
  json::value memory =
      e.memory_limit_bytes ? json::value(FormatSize(e.memory_limit_bytes)) : json::value(nullptr);
  json::value timeout = e.timeout_ms
                            ? json::value(FormatDuration(std::chrono::milliseconds(e.timeout_ms)))
                            : json::value(nullptr);
  return {{"name", e.name},
          {"version", e.version},
          {"sha256", e.sha256},
          {"size", e.size},
          {"size_kb", (e.size + 1023) / 1024},
          {"uploaded_at", e.uploaded_at},
          {"updated_at", e.updated_at},
          {"env", std::move(env)},
          {"memory_limit", std::move(memory)},
          {"timeout", std::move(timeout)},
          {"memory_limit_bytes", e.memory_limit_bytes},
          {"timeout_ms", e.timeout_ms}};
}

std::string EncodeManifest(const Manifest& m) {
  json::array items;
  items.reserve(m.functions.size());
  for (const ManifestEntry& e : m.functions) items.push_back(ManifestEntryJson(e));
  return ToJson(json::object{{"functions", std::move(items)}, {"revision", m.revision}});
}

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
    ASSIGN_OR_RETURN(ManifestEntry f, ParseEntry((*fns)[i].get_object(), i));
    m.functions.push_back(std::move(f));
  }
  return m;
}

}  // namespace aether::protocol
