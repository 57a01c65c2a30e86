#include "control/workflows/workflow_spec.h"

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <set>

#include "common/config.h"  // ServerlessClassLabel
#include "common/json_util.h"
#include "common/units.h"
#include "control/validation.h"
#include "protocol/ids.h"
#include "protocol/names.h"

namespace aether::control {
namespace {

namespace json = boost::json;

constexpr size_t kMaxComponents = 256;
constexpr size_t kMaxOutputs = 64;
constexpr size_t kMaxInitPayload = 1u << 20;  // the workflow payload limit
constexpr int kMaxInstances = 64;
constexpr size_t kMaxNodeIds = 256;
constexpr size_t kMaxLabels = 64;
constexpr uint64_t kMinMemoryLimit = 64 * 1024;  // one wasm page

// "<path>: <what>"; the path is what a user greps their spec for.
Status Bad(const std::string& path, const std::string& what) {
  return InvalidArgument((path.empty() ? std::string("spec") : path) + ": " + what);
}

std::string Join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}
std::string Index(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

// The first characters of a user's string, printable, quoted: names and
// payloads can be long, and the message must stay one readable line.
std::string Quoted(std::string_view s) {
  constexpr size_t kMax = 64;
  std::string out = "\"";
  for (char c : s.substr(0, kMax)) {
    auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7f) ? '?' : c;
  }
  if (s.size() > kMax) out += "...";
  return SanitizeUtf8(out) + "\"";
}

// Component and workflow names end up in instance ids
// (<workflow>/<component>/<index>) and URLs: protocol::IsName.
Result<std::string> Name(const json::value* v, const std::string& path) {
  if (v == nullptr || v->is_null()) return Bad(path, "required");
  if (!v->is_string()) return Bad(path, "must be a string");
  std::string_view s = v->get_string();
  if (!protocol::IsName(s)) {
    return Bad(path, Quoted(s) +
                         ": use 1 to 63 lower-case letters, digits, '_' and '-', starting with a "
                         "letter or digit");
  }
  return std::string(s);
}

// How strictly a spec is read. An Aether-shaped spec is strict: a misspelt
// field would otherwise be ignored silently. An EDGELESS-shaped one (a
// function with "class_specification") is read as EDGELESS reads it:
// unknown fields and configuration keys are ignored, each a warning.
struct Strictness {
  bool lenient = false;
  std::vector<std::string>* warnings = nullptr;  // may be null

  void Ignored(const std::string& path, std::string_view what) const {
    if (warnings != nullptr && warnings->size() < kMaxWarnings) {
      warnings->push_back(path + ": " + std::string(what) + ", ignored");
    }
  }
  static constexpr size_t kMaxWarnings = 64;
};

// Fields of `o` that are not in `known`: refused, or ignored when lenient.
Status OnlyFields(const json::object& o, const std::string& path,
                  std::initializer_list<std::string_view> known, const Strictness& strict) {
  for (const auto& kv : o) {
    if (std::find(known.begin(), known.end(), kv.key()) == known.end()) {
      std::string list;
      for (std::string_view k : known) list += (list.empty() ? "" : ", ") + std::string(k);
      std::string key = Quoted(kv.key());  // the key is the user's: printable, bounded
      std::string at = Join(path, std::string_view(key).substr(1, key.size() - 2));
      if (strict.lenient) {
        strict.Ignored(at, "unknown field");
        continue;
      }
      return Bad(at, "unknown field (known: " + list + ")");
    }
  }
  return OkStatus();
}

Result<const json::object*> ObjectAt(const json::value& v, const std::string& path) {
  if (!v.is_object()) return Bad(path, "must be an object");
  return &v.get_object();
}

// A scalar as text: strings as they are, numbers and booleans as their JSON
// text (resource configurations are string maps, EDGELESS's all strings).
Result<std::string> ScalarText(const json::value& v, const std::string& path) {
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_int64() || v.is_uint64() || v.is_double() || v.is_bool()) return json::serialize(v);
  return Bad(path, "must be a string, a number or a boolean");
}

// A whole number from a JSON integer or, as EDGELESS writes annotations, a
// string of digits. nullopt for anything else (the caller says what it wants).
std::optional<uint64_t> WholeNumber(const json::value& v) {
  if (v.is_uint64()) return v.get_uint64();
  if (v.is_int64())
    return v.get_int64() >= 0 ? std::optional<uint64_t>(v.get_int64()) : std::nullopt;
  if (!v.is_string()) return std::nullopt;
  std::string_view s = v.get_string();
  if (s.empty() || s.size() > 19 ||
      !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  uint64_t n = 0;
  std::from_chars(s.data(), s.data() + s.size(), n);
  return n;
}

// A list of strings: a JSON array, or EDGELESS's comma-separated string.
// Empty entries are errors; `what` describes one entry.
Result<std::vector<std::string>> StringList(const json::value& v, const std::string& path,
                                            std::string_view what, size_t max) {
  std::vector<std::string> out;
  if (v.is_string()) {
    std::string_view s = v.get_string();
    size_t start = 0;
    while (start <= s.size()) {
      size_t end = std::min(s.find(',', start), s.size());
      std::string_view item = s.substr(start, end - start);
      while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
      while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
      if (item.empty()) return Bad(path, "empty entry in " + Quoted(s));
      out.emplace_back(item);
      if (out.size() > max) return Bad(path, "more than " + std::to_string(max) + " entries");
      start = end + 1;
    }
    return out;
  }
  if (!v.is_array()) return Bad(path, "must be a list of " + std::string(what));
  const json::array& a = v.get_array();
  if (a.size() > max) return Bad(path, "more than " + std::to_string(max) + " entries");
  for (size_t i = 0; i < a.size(); ++i) {
    if (!a[i].is_string() || a[i].get_string().empty())
      return Bad(Index(path, i), "must be " + std::string(what));
    out.emplace_back(a[i].get_string());
  }
  return out;
}

// Node ids, or domain ids (`domains`: the same rule, ValidateNodeId).
Result<std::vector<std::string>> NodeIds(const json::value& v, const std::string& path,
                                         bool domains = false) {
  ASSIGN_OR_RETURN(
      std::vector<std::string> ids,
      StringList(v, path, domains ? "domain ids (strings)" : "node ids (strings)", kMaxNodeIds));
  std::vector<std::string> out;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (Status st = protocol::ValidateNodeId(ids[i], domains ? "domain id" : "node_id"); !st.ok()) {
      return Bad(v.is_array() ? Index(path, i) : path, st.message());
    }
    // A repeated id changes nothing; keeping one keeps the stored spec tidy.
    if (std::find(out.begin(), out.end(), ids[i]) == out.end()) out.push_back(std::move(ids[i]));
  }
  return out;
}

// Node labels are short strings (POST /register: keys ≤ 128, values ≤ 256).
// '=' and ',' cannot be in a key: "k=v" and EDGELESS's comma lists would
// not read back the same.
Status CheckLabel(const LabelMatch& m, const std::string& path) {
  if (m.key.empty() || m.key.size() > 128) return Bad(path, "a label key has 1 to 128 characters");
  if (m.key.find_first_of("=,") != std::string::npos)
    return Bad(path, "a label key cannot contain '=' or ','");
  if (m.value && m.value->size() > 256)
    return Bad(path, "a label value has at most 256 characters");
  return OkStatus();
}

LabelMatch LabelFromText(std::string_view s) {
  size_t eq = s.find('=');
  if (eq == std::string_view::npos) return {std::string(s), std::nullopt};
  return {std::string(s.substr(0, eq)), std::string(s.substr(eq + 1))};
}

Result<std::vector<LabelMatch>> Labels(const json::value& v, const std::string& path) {
  std::vector<LabelMatch> out;
  if (v.is_object()) {
    if (v.get_object().size() > kMaxLabels)
      return Bad(path, "more than " + std::to_string(kMaxLabels) + " labels");
    for (const auto& kv : v.get_object()) {
      std::string p = Join(path, kv.key());
      ASSIGN_OR_RETURN(std::string value, ScalarText(kv.value(), p));
      LabelMatch m{std::string(kv.key()), std::move(value)};
      RETURN_IF_ERROR(CheckLabel(m, p));
      out.push_back(std::move(m));
    }
    return out;
  }
  if (!v.is_string() && !v.is_array()) {
    return Bad(path, "must be a list of \"key=value\" or \"key\", or an object {key: value}");
  }
  ASSIGN_OR_RETURN(std::vector<std::string> items,
                   StringList(v, path, "\"key=value\" or \"key\"", kMaxLabels));
  for (size_t i = 0; i < items.size(); ++i) {
    LabelMatch m = LabelFromText(items[i]);
    RETURN_IF_ERROR(CheckLabel(m, v.is_array() ? Index(path, i) : path));
    out.push_back(std::move(m));
  }
  return out;
}

// Placement annotations shared by functions and resources; `path` is the
// annotations object's.
Status Placement(const json::object& a, const std::string& path, std::vector<std::string>* ids,
                 std::vector<LabelMatch>* labels, std::vector<std::string>* domains) {
  if (const json::value* v = a.if_contains("node_id_match_any"); v && !v->is_null()) {
    ASSIGN_OR_RETURN(*ids, NodeIds(*v, path + ".node_id_match_any"));
  }
  if (const json::value* v = a.if_contains("label_match_all"); v && !v->is_null()) {
    ASSIGN_OR_RETURN(*labels, Labels(*v, path + ".label_match_all"));
  }
  if (const json::value* v = a.if_contains("domain_match_any"); v && !v->is_null()) {
    ASSIGN_OR_RETURN(*domains, NodeIds(*v, path + ".domain_match_any", true));
  }
  return OkStatus();
}

Result<std::map<std::string, std::string>> OutputMapping(const json::object& o,
                                                         const std::string& path) {
  std::map<std::string, std::string> out;
  const json::value* v = o.if_contains("output_mapping");
  if (v == nullptr || v->is_null()) return out;
  std::string mp = path + ".output_mapping";
  if (!v->is_object()) return Bad(mp, "must be an object {output: target}");
  if (v->get_object().size() > kMaxOutputs) {
    return Bad(mp, "more than " + std::to_string(kMaxOutputs) + " outputs");
  }
  for (const auto& kv : v->get_object()) {
    std::string p = Join(mp, kv.key());
    if (kv.key().empty() || kv.key().size() > 128)
      return Bad(p, "an output name has 1 to 128 bytes");
    // The control plane adds "@<component>" outputs to the node assignments
    // (workflow_watch.cc): the routes an EDGELESS function's cast_raw /
    // call_raw back to its sender takes. A user's would be taken for one.
    if (kv.key().starts_with('@')) {
      return Bad(p,
                 "output names starting with '@' are reserved (the engine's routes back to the "
                 "components that send here)");
    }
    if (!kv.value().is_string()) return Bad(p, "the target must be a component name (a string)");
    out[std::string(kv.key())] = std::string(kv.value().get_string());
  }
  return out;
}

Status FunctionAnnotations(const json::object& fn, const std::string& path, FunctionSpec* f,
                           const Strictness& strict) {
  const json::value* v = fn.if_contains("annotations");
  if (v == nullptr || v->is_null()) return OkStatus();
  std::string ap = path + ".annotations";
  ASSIGN_OR_RETURN(const json::object* a, ObjectAt(*v, ap));
  RETURN_IF_ERROR(OnlyFields(
      *a, ap,
      {"init_payload", "init-payload", "max_instances", "node_id_match_any", "label_match_all",
       "memory_limit", "domain_match_any", "resource_match_all", "tee", "tpm"},
      strict));
  const json::value* init = a->if_contains("init_payload");
  std::string init_path = ap + ".init_payload";
  if (const json::value* edgeless = a->if_contains("init-payload")) {
    if (init != nullptr)
      return Bad(ap + ".init-payload", "give \"init_payload\" or \"init-payload\", not both");
    init = edgeless;
    init_path = ap + ".init-payload";
  }
  if (init != nullptr && !init->is_null()) {
    // A string is the payload's bytes; any other JSON value its compact
    // text, so a JSON configuration need not be escaped into a string.
    f->init_payload = init->is_string() ? std::string(init->get_string()) : json::serialize(*init);
    if (f->init_payload.size() > kMaxInitPayload) return Bad(init_path, "larger than 1 MiB");
  }
  if (const json::value* m = a->if_contains("max_instances"); m && !m->is_null()) {
    std::optional<uint64_t> n = WholeNumber(*m);
    // EDGELESS: 0 = no maximum, of which its orchestrator starts one; Aether
    // scales by max_instances itself, so that is one instance.
    if (n && *n == 0 && strict.lenient) n = 1;
    if (!n || *n < 1 || *n > static_cast<uint64_t>(kMaxInstances)) {
      return Bad(ap + ".max_instances", "must be a whole number from 1 to " +
                                            std::to_string(kMaxInstances) + ", got " +
                                            Quoted(json::serialize(*m)));
    }
    f->max_instances = static_cast<int>(*n);
  }
  if (const json::value* m = a->if_contains("memory_limit"); m && !m->is_null()) {
    std::string p = ap + ".memory_limit";
    if (std::optional<uint64_t> n = m->is_string() ? std::nullopt : WholeNumber(*m)) {
      f->memory_limit = *n;
    } else if (m->is_string()) {
      Result<uint64_t> size = ParseSize(m->get_string());
      if (!size.ok()) return Bad(p, size.status().message());
      f->memory_limit = *size;
    } else {
      return Bad(p, "must be a number of bytes or a size like \"16MB\"");
    }
    // 0 = the function's / node's limit, as in the node protocol.
    if (f->memory_limit != 0 &&
        (f->memory_limit < kMinMemoryLimit || f->memory_limit > kMaxMemoryLimit)) {
      return Bad(p, "must be 0 (the default) or between 64KiB and 4GiB, got " +
                        std::to_string(f->memory_limit) + " bytes");
    }
  }
  RETURN_IF_ERROR(
      Placement(*a, ap, &f->node_id_match_any, &f->label_match_all, &f->domain_match_any));
  // EDGELESS's node capabilities are labels here (docs/edgeless.md): a node
  // must carry a label named after each resource provider it needs, and
  // "tee" / "tpm" when those are "required".
  if (const json::value* r = a->if_contains("resource_match_all"); r && !r->is_null()) {
    ASSIGN_OR_RETURN(std::vector<LabelMatch> providers, Labels(*r, ap + ".resource_match_all"));
    for (LabelMatch& m : providers) {
      if (m.value) {
        return Bad(ap + ".resource_match_all", "lists resource provider names, not key=value");
      }
      f->label_match_all.push_back(std::move(m));
    }
  }
  for (const char* capability : {"tee", "tpm"}) {
    const json::value* c = a->if_contains(capability);
    if (c == nullptr || c->is_null()) continue;
    if (!c->is_string()) {
      return Bad(ap + "." + capability, "must be \"required\" or \"not_required\"");
    }
    std::string level(c->get_string());
    for (char& ch : level) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (level == "required") f->label_match_all.push_back(LabelMatch{capability, std::nullopt});
  }
  return OkStatus();
}

constexpr std::string_view kCodeHint =
    "a code path cannot be posted to the control plane; `aether workflow apply FILE` builds and "
    "uploads it and puts the deployed name in \"function\"";

Result<FunctionSpec> ParseFunction(const json::value& v, const std::string& path,
                                   const SpecCheckHooks& hooks, const Strictness& strict) {
  ASSIGN_OR_RETURN(const json::object* o, ObjectAt(v, path));
  RETURN_IF_ERROR(OnlyFields(
      *o, path,
      {"name", "function", "code", "class_specification", "output_mapping", "annotations"},
      strict));
  FunctionSpec f;
  ASSIGN_OR_RETURN(f.name, Name(o->if_contains("name"), path + ".name"));
  if (const json::value* code = o->if_contains("code"); code && !code->is_null()) {
    return Bad(path + ".code",
               std::string(kCodeHint) +
                   (code->is_string() ? " (" + Quoted(code->get_string()) + ")" : ""));
  }
  // EDGELESS: class_specification {id, function_type, version, code |
  // include_code_file, outputs}. The CLI keeps it and adds "function", so
  // "function", when present, is the deployed function and id only a label.
  const json::value* cls = o->if_contains("class_specification");
  std::optional<std::vector<std::string>> declared_outputs;
  std::string fn_path = path + ".function";
  if (cls != nullptr && !cls->is_null()) {
    std::string cp = path + ".class_specification";
    ASSIGN_OR_RETURN(const json::object* c, ObjectAt(*cls, cp));
    RETURN_IF_ERROR(OnlyFields(
        *c, cp, {"id", "function_type", "version", "code", "include_code_file", "outputs"},
        strict));
    for (const char* key : {"code", "include_code_file"}) {
      if (const json::value* p = c->if_contains(key); p && !p->is_null()) {
        return Bad(Join(cp, key), std::string(kCodeHint) +
                                      (p->is_string() ? " (" + Quoted(p->get_string()) + ")" : ""));
      }
    }
    for (const char* key : {"function_type", "version"}) {
      if (const json::value* s = c->if_contains(key); s && !s->is_string())
        return Bad(Join(cp, key), "must be a string");
    }
    if (const json::value* t = c->if_contains("function_type");
        t && t->get_string() == "CONTAINER") {
      return Bad(cp + ".function_type",
                 "CONTAINER functions are not supported; Aether runs WebAssembly (RUST_WASM)");
    }
    if (const json::value* outs = c->if_contains("outputs"); outs && !outs->is_null()) {
      ASSIGN_OR_RETURN(declared_outputs,
                       StringList(*outs, cp + ".outputs", "output names", kMaxOutputs));
      if (!outs->is_array()) return Bad(cp + ".outputs", "must be a list of output names");
    }
    if (!o->contains("function")) {
      fn_path = cp + ".id";
      const json::value* id = c->if_contains("id");
      if (id == nullptr || !id->is_string())
        return Bad(fn_path, "required: the deployed function's name");
      if (Status st = protocol::ValidateFunctionName(id->get_string()); !st.ok())
        return Bad(fn_path, st.message());
      f.function = std::string(id->get_string());
    } else if (const json::value* id = c->if_contains("id"); id && !id->is_string()) {
      return Bad(cp + ".id", "must be a string");
    }
  }
  if (const json::value* fn = o->if_contains("function")) {
    if (!fn->is_string()) return Bad(fn_path, "must be a deployed function's name (a string)");
    if (Status st = protocol::ValidateFunctionName(fn->get_string()); !st.ok())
      return Bad(fn_path, st.message());
    f.function = std::string(fn->get_string());
  } else if (f.function.empty()) {
    return Bad(
        fn_path,
        "required: a deployed function's name (or \"code\": a path, with `aether workflow apply`)");
  }
  if (hooks.function_exists && !hooks.function_exists(f.function)) {
    return Bad(fn_path, "no function " + Quoted(f.function) + " is deployed");
  }
  ASSIGN_OR_RETURN(f.output_mapping, OutputMapping(*o, path));
  // EDGELESS declares outputs, but its own examples leave the list empty
  // while mapping outputs (file_log, redis), so only a non-empty list is
  // checked.
  if (declared_outputs && !declared_outputs->empty()) {
    for (const auto& [out, target] : f.output_mapping) {
      if (std::find(declared_outputs->begin(), declared_outputs->end(), out) ==
          declared_outputs->end()) {
        std::string list;
        for (const std::string& d : *declared_outputs) list += (list.empty() ? "" : ", ") + d;
        return Bad(path + ".output_mapping." + out,
                   "not among class_specification.outputs (" + list + ")");
      }
    }
  }
  RETURN_IF_ERROR(FunctionAnnotations(*o, path, &f, strict));
  return f;
}

// EDGELESS's resource classes that Aether does not provide.
constexpr std::string_view kEdgelessOnlyClasses[] = {"dda", "kafka-egress", "metrics-collector",
                                                     "ollama"};

Result<ResourceSpec> ParseResource(const json::value& v, const std::string& path,
                                   const SpecCheckHooks& hooks, const Strictness& strict) {
  ASSIGN_OR_RETURN(const json::object* o, ObjectAt(v, path));
  RETURN_IF_ERROR(OnlyFields(
      *o, path, {"name", "class_type", "configurations", "output_mapping", "annotations"}, strict));
  ResourceSpec r;
  ASSIGN_OR_RETURN(r.name, Name(o->if_contains("name"), path + ".name"));
  const json::value* cls = o->if_contains("class_type");
  if (cls == nullptr || !cls->is_string())
    return Bad(path + ".class_type", "required: a resource class (a string)");
  r.class_type = std::string(cls->get_string());
  const auto& known = KnownResourceClasses();
  bool portal = hooks.portals && r.class_type == kPortalClass;
  bool builtin = std::find(known.begin(), known.end(), r.class_type) != known.end();
  // Never the portal class: a node label set by hand must not open it.
  bool node_class = !builtin && r.class_type != kPortalClass && hooks.node_class_offered &&
                    hooks.node_class_offered(r.class_type);
  if (!portal && !builtin && !node_class) {
    std::string list;
    for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
    if (std::find(std::begin(kEdgelessOnlyClasses), std::end(kEdgelessOnlyClasses), r.class_type) !=
        std::end(kEdgelessOnlyClasses)) {
      return Bad(path + ".class_type", "EDGELESS's " + Quoted(r.class_type) +
                                           " resource is not supported by Aether (supported: " +
                                           list + "; docs/edgeless.md)");
    }
    return Bad(path + ".class_type",
               "unknown class " + Quoted(r.class_type) + " (known: " + list +
                   "; or a serverless class an engine provides, and no node does: "
                   "[[workflow.serverless]] in docs/configuration.md)");
  }
  if (const json::value* c = o->if_contains("configurations"); c != nullptr && !c->is_null()) {
    std::string cp = path + ".configurations";
    ASSIGN_OR_RETURN(const json::object* co, ObjectAt(*c, cp));
    for (const auto& kv : *co) {
      const std::vector<std::string>& keys = ConfigKeys(r.class_type);
      if (strict.lenient && std::find(keys.begin(), keys.end(), kv.key()) == keys.end()) {
        std::string key = Quoted(kv.key());
        strict.Ignored(Join(cp, std::string_view(key).substr(1, key.size() - 2)),
                       "unknown configuration key");
        continue;
      }
      ASSIGN_OR_RETURN(std::string text, ScalarText(kv.value(), Join(cp, kv.key())));
      r.configurations[std::string(kv.key())] = std::move(text);
    }
  }
  // The http-ingress and http-egress of an EDGELESS-shaped spec speak
  // EDGELESS's HTTP JSON with its functions (docs/edgeless.md, "HTTP")
  // unless the spec says.
  if (strict.lenient && (r.class_type == "http-ingress" || r.class_type == "http-egress") &&
      !r.configurations.contains("format")) {
    auto mode = r.configurations.find("mode");
    if (mode == r.configurations.end() || mode->second != "portal") {
      r.configurations["format"] = "edgeless";
    }
  }
  // EDGELESS's redis answers a call with GET of the key it carries.
  if (strict.lenient && r.class_type == "redis" && !r.configurations.contains("call")) {
    r.configurations["call"] = "get";
  }
  // Its messages start with the key: "period_ms: ..." completes the path.
  if (node_class && !r.configurations.empty()) {
    return Bad(path + ".configurations." + r.configurations.begin()->first,
               "a serverless class takes no configurations (its engine's "
               "[[workflow.serverless]] says where it is)");
  }
  if (Status st =
          node_class ? OkStatus() : ValidateResourceConfig(r.class_type, r.configurations, r.name);
      !st.ok()) {
    return InvalidArgument(path + ".configurations." + st.message());
  }
  if (!hooks.portals && IsPortalOnly(r.class_type, r.configurations)) {
    // A portal would be an egress to any address, and its ingress a door
    // only the controller holds the key to.
    return Bad(path + ".configurations",
               "portals (an http-ingress in mode \"portal\" or on a path under \"_portal\") are "
               "made by a cluster controller for links between domains; a workflow cannot declare "
               "one");
  }
  ASSIGN_OR_RETURN(r.output_mapping, OutputMapping(*o, path));
  if (r.class_type == "http-ingress" && r.output_mapping.size() != 1) {
    // A request goes to the ingress's single mapped output
    // (docs/workflow-protocol.md); none or several has no meaning.
    return Bad(path + ".output_mapping",
               "an http-ingress maps exactly one output (e.g. {\"new_request\": \"parse\"})");
  }
  if (const json::value* a = o->if_contains("annotations"); a != nullptr && !a->is_null()) {
    std::string ap = path + ".annotations";
    ASSIGN_OR_RETURN(const json::object* ao, ObjectAt(*a, ap));
    RETURN_IF_ERROR(
        OnlyFields(*ao, ap, {"node_id_match_any", "label_match_all", "domain_match_any"}, strict));
    RETURN_IF_ERROR(
        Placement(*ao, ap, &r.node_id_match_any, &r.label_match_all, &r.domain_match_any));
  }
  if (node_class) {
    // Only a node that provides the class can run it.
    LabelMatch provides{ServerlessClassLabel(r.class_type), std::nullopt};
    if (std::find(r.label_match_all.begin(), r.label_match_all.end(), provides) ==
        r.label_match_all.end()) {
      r.label_match_all.push_back(std::move(provides));
    }
  }
  return r;
}

json::value LabelsJson(const std::vector<LabelMatch>& labels) {
  json::array a;
  for (const LabelMatch& l : labels) a.emplace_back(l.value ? l.key + "=" + *l.value : l.key);
  return a;
}

json::value StringsJson(const std::vector<std::string>& v) {
  json::array a;
  for (const std::string& s : v) a.emplace_back(s);
  return a;
}

json::value MapJson(const std::map<std::string, std::string>& m) {
  json::object o;
  for (const auto& [k, v] : m) o[k] = v;
  return o;
}

}  // namespace

Result<WorkflowSpec> ParseWorkflowSpec(std::string_view text, const SpecCheckHooks& hooks) {
  Result<json::value> parsed = ParseJson(text);
  if (!parsed.ok()) return Bad("", "not valid JSON: " + parsed.status().message());
  if (!parsed->is_object())
    return Bad("", "must be a JSON object with \"functions\" and \"resources\"");
  const json::object& root = parsed->get_object();
  // EDGELESS-shaped: a function with "class_specification".
  Strictness strict;
  strict.warnings = hooks.warnings;
  if (const json::value* fs = root.if_contains("functions"); fs != nullptr && fs->is_array()) {
    for (const json::value& f : fs->get_array()) {
      strict.lenient |= f.is_object() && f.get_object().contains("class_specification");
    }
  }
  RETURN_IF_ERROR(
      OnlyFields(root, "", {"name", "functions", "resources", "annotations", "delivery"}, strict));
  WorkflowSpec spec;
  if (const json::value* d = root.if_contains("delivery"); d != nullptr && !d->is_null()) {
    std::optional<protocol::Delivery> mode;
    if (d->is_string()) mode = protocol::ParseDelivery(d->get_string());
    if (!mode) return Bad("delivery", "must be \"at-most-once\" or \"at-least-once\"");
    spec.delivery = *mode;
  }
  if (const json::value* n = root.if_contains("name"); n != nullptr && !n->is_null()) {
    ASSIGN_OR_RETURN(spec.name, Name(n, "name"));
    // Generated ids look like this; a name of that shape could take the id
    // of a workflow applied without a name.
    if (spec.name.size() == 11 && spec.name.starts_with("wf-") &&
        std::all_of(spec.name.begin() + 3, spec.name.end(),
                    [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); })) {
      return Bad("name",
                 Quoted(spec.name) +
                     " has the form of a generated id (wf- and 8 hex digits); choose another");
    }
  }
  auto array = [&](const char* key) -> Result<const json::array*> {
    static const json::array kEmpty;
    const json::value* v = root.if_contains(key);
    if (v == nullptr || v->is_null()) return &kEmpty;
    if (!v->is_array()) return Bad(key, "must be a list");
    return &v->get_array();
  };
  ASSIGN_OR_RETURN(const json::array* functions, array("functions"));
  ASSIGN_OR_RETURN(const json::array* resources, array("resources"));
  if (functions->empty() && resources->empty()) {
    return Bad("functions", "a workflow needs at least one function or resource");
  }
  if (functions->size() + resources->size() > kMaxComponents) {
    return Bad(functions->size() > kMaxComponents ? "functions" : "resources",
               "more than " + std::to_string(kMaxComponents) + " components in the workflow");
  }
  std::map<std::string, std::string> first_path;  // component name -> where it was declared
  auto declare = [&](const std::string& name, const std::string& path) -> Status {
    auto [it, fresh] = first_path.emplace(name, path);
    if (!fresh)
      return Bad(path + ".name",
                 "duplicate component name " + Quoted(name) + " (also " + it->second + ")");
    return OkStatus();
  };
  for (size_t i = 0; i < functions->size(); ++i) {
    std::string path = Index("functions", i);
    ASSIGN_OR_RETURN(FunctionSpec f, ParseFunction((*functions)[i], path, hooks, strict));
    RETURN_IF_ERROR(declare(f.name, path));
    spec.functions.push_back(std::move(f));
  }
  for (size_t i = 0; i < resources->size(); ++i) {
    std::string path = Index("resources", i);
    ASSIGN_OR_RETURN(ResourceSpec r, ParseResource((*resources)[i], path, hooks, strict));
    RETURN_IF_ERROR(declare(r.name, path));
    spec.resources.push_back(std::move(r));
  }
  // Every target names a component; the message lists them (the first few).
  std::string all;
  size_t listed = 0;
  auto list_name = [&](const std::string& n) {
    if (listed < 16)
      all += (all.empty() ? "" : ", ") + n;
    else if (listed == 16)
      all += ", ...";
    ++listed;
  };
  for (const FunctionSpec& f : spec.functions) list_name(f.name);
  for (const ResourceSpec& r : spec.resources) list_name(r.name);
  auto check_targets = [&](const std::map<std::string, std::string>& mapping,
                           const std::string& path) -> Status {
    for (const auto& [out, target] : mapping) {
      if (!first_path.contains(target)) {
        return Bad(path + ".output_mapping." + out,
                   "unknown target " + Quoted(target) + " (components: " + all + ")");
      }
    }
    return OkStatus();
  };
  for (size_t i = 0; i < spec.functions.size(); ++i) {
    RETURN_IF_ERROR(check_targets(spec.functions[i].output_mapping, Index("functions", i)));
  }
  for (size_t i = 0; i < spec.resources.size(); ++i) {
    RETURN_IF_ERROR(check_targets(spec.resources[i].output_mapping, Index("resources", i)));
  }
  // Top-level annotations are the user's: kept (any value, as its text)
  // and not interpreted, but for "domains" (a cluster controller's).
  if (const json::value* a = root.if_contains("annotations"); a != nullptr && !a->is_null()) {
    ASSIGN_OR_RETURN(const json::object* ao, ObjectAt(*a, "annotations"));
    if (const json::value* d = ao->if_contains("domains")) {
      std::string_view mode = d->is_string() ? std::string_view(d->get_string()) : "";
      if (mode != "spread" && mode != "together") {
        return Bad("annotations.domains", "must be \"spread\" or \"together\"");
      }
      spec.domains = mode == "together" ? DomainAffinity::kTogether : DomainAffinity::kSpread;
    }
    for (const auto& kv : *ao) {
      spec.annotations[std::string(kv.key())] = kv.value().is_string()
                                                    ? std::string(kv.value().get_string())
                                                    : json::serialize(kv.value());
    }
  }
  return spec;
}

std::string SerializeWorkflowSpec(const WorkflowSpec& spec) {
  json::object root;
  if (!spec.name.empty()) root["name"] = spec.name;
  json::array functions;
  for (const FunctionSpec& f : spec.functions) {
    json::object a;
    a["init_payload"] = f.init_payload;
    a["max_instances"] = f.max_instances;
    if (!f.node_id_match_any.empty()) a["node_id_match_any"] = StringsJson(f.node_id_match_any);
    if (!f.label_match_all.empty()) a["label_match_all"] = LabelsJson(f.label_match_all);
    if (f.memory_limit != 0) a["memory_limit"] = f.memory_limit;
    if (!f.domain_match_any.empty()) a["domain_match_any"] = StringsJson(f.domain_match_any);
    functions.push_back(json::object{{"name", f.name},
                                     {"function", f.function},
                                     {"output_mapping", MapJson(f.output_mapping)},
                                     {"annotations", std::move(a)}});
  }
  json::array resources;
  for (const ResourceSpec& r : spec.resources) {
    json::object o{{"name", r.name},
                   {"class_type", r.class_type},
                   {"configurations", MapJson(r.configurations)},
                   {"output_mapping", MapJson(r.output_mapping)}};
    json::object a;
    if (!r.node_id_match_any.empty()) a["node_id_match_any"] = StringsJson(r.node_id_match_any);
    if (!r.label_match_all.empty()) a["label_match_all"] = LabelsJson(r.label_match_all);
    if (!r.domain_match_any.empty()) a["domain_match_any"] = StringsJson(r.domain_match_any);
    if (!a.empty()) o["annotations"] = std::move(a);
    resources.push_back(std::move(o));
  }
  root["functions"] = std::move(functions);
  root["resources"] = std::move(resources);
  json::value annotations = MapJson(spec.annotations);
  // The field, not the map's text, is what a controller acts on.
  if (spec.domains == DomainAffinity::kTogether || spec.annotations.contains("domains")) {
    annotations.as_object()["domains"] =
        spec.domains == DomainAffinity::kTogether ? "together" : "spread";
  }
  root["annotations"] = std::move(annotations);
  if (spec.delivery != protocol::Delivery::kAtMostOnce) {
    root["delivery"] = protocol::DeliveryName(spec.delivery);
  }
  return json::serialize(root);
}

}  // namespace aether::control
