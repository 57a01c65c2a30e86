#include "protocol/module_hints.h"

#include <boost/json.hpp>

#include "common/json_util.h"
#include "protocol/ids.h"

namespace aether::protocol {

namespace json = boost::json;

std::string EncodeModuleHints(const ModuleHints& hints) {
  json::array modules;
  modules.reserve(hints.modules.size());
  for (const ModuleHint& m : hints.modules) {
    modules.push_back(json::object{{"sha256", m.sha256}, {"size", m.size}});
  }
  return json::serialize(json::object{{"revision", hints.revision}, {"modules", modules}});
}

Result<ModuleHints> ParseModuleHints(std::string_view text) {
  ASSIGN_OR_RETURN(json::object o, ParseJsonObject(text));
  ModuleHints hints;
  ASSIGN_OR_RETURN(hints.revision, GetInt(o, "revision"));
  ASSIGN_OR_RETURN(const json::value* modules, FindField(o, "modules"));
  if (modules == nullptr || !modules->is_array()) {
    return InvalidArgument("field \"modules\" must be an array");
  }
  const json::array& list = modules->get_array();
  if (list.size() > kMaxModuleHints) {
    return InvalidArgument("field \"modules\" has more than " + std::to_string(kMaxModuleHints) +
                           " entries");
  }
  for (size_t i = 0; i < list.size(); ++i) {
    std::string field = "modules[" + std::to_string(i) + "]";
    if (!list[i].is_object()) return InvalidArgument("field \"" + field + "\" must be an object");
    const json::object& m = list[i].get_object();
    ModuleHint hint;
    ASSIGN_OR_RETURN(hint.sha256, GetString(m, "sha256"));
    if (!IsSha256Hex(hint.sha256)) {
      return InvalidArgument("field \"" + field + ".sha256\" must be 64 lower-case hex digits");
    }
    ASSIGN_OR_RETURN(int64_t size, GetInt(m, "size"));
    if (size < 0) return InvalidArgument("field \"" + field + ".size\" is negative");
    hint.size = static_cast<uint64_t>(size);
    hints.modules.push_back(std::move(hint));
  }
  return hints;
}

}  // namespace aether::protocol
