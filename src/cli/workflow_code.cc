#include "cli/workflow_code.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <utility>
#include <vector>

#include "cli/remote.h"
#include "common/json_util.h"
#include "protocol/names.h"

namespace aether::cli {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

using protocol::IsName;

// Text from the spec inside a message: valid UTF-8, cut when long.
std::string Quote(std::string_view s) {
  std::string t = SanitizeUtf8(s.substr(0, 80));
  return "\"" + t + (s.size() > 80 ? "..." : "") + "\"";
}

class SpecError {
 public:
  explicit SpecError(std::string file) : file_(std::move(file)) {}
  Status operator()(const std::string& path, const std::string& what) const {
    return UsageError(file_ + ": " + (path.empty() ? "" : path + ": ") + what);
  }

 private:
  std::string file_;
};

Result<CodeKind> KindOf(const fs::path& p) {
  std::string ext = p.extension().string();
  if (ext == ".wasm") return CodeKind::kWasm;
  if (ext == ".c") return CodeKind::kC;
  if (ext == ".rs") return CodeKind::kRust;
  return InvalidArgument("unsupported file " + Quote(p.filename().string()) +
                         " (expected .wasm, .c or .rs)");
}

// The code path of functions[i], if any: "code", or in EDGELESS's
// class_specification "include_code_file" (or "code", which the control
// plane treats as a path too). Sets *field to its JSON path.
Result<const json::value*> CodeField(const json::object& fn, const std::string& at,
                                     const SpecError& err, std::string* field) {
  std::vector<std::pair<std::string, const json::value*>> found;
  auto add = [&found](std::string path, const json::value* v) {
    if (v != nullptr && !v->is_null()) found.emplace_back(std::move(path), v);
  };
  add(at + ".code", fn.if_contains("code"));
  if (const json::value* cs = fn.if_contains("class_specification"); cs && cs->is_object()) {
    add(at + ".class_specification.include_code_file",
        cs->as_object().if_contains("include_code_file"));
    add(at + ".class_specification.code", cs->as_object().if_contains("code"));
  }
  if (found.empty()) return nullptr;
  if (found.size() > 1) {
    std::string a = found[0].first.substr(at.size() + 1), b = found[1].first.substr(at.size() + 1);
    return err(at, "give \"" + a + "\" or \"" + b + "\", not both");
  }
  *field = found[0].first;
  return found[0].second;
}

}  // namespace

std::string DeployedFunctionName(std::string_view spec_name, std::string_view component) {
  return protocol::FitName(spec_name.empty()
                               ? std::string(component)
                               : std::string(spec_name) + "-" + std::string(component));
}

std::string UnnamedSpecPrefix(const std::string& file) {
  std::error_code ec;
  fs::path abs = fs::absolute(file, ec);
  if (ec) abs = fs::path(file);
  std::string raw = abs.parent_path().filename().string() + "-" + abs.stem().string();
  std::string out;
  for (char c : raw) {
    char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    bool ok = (l >= 'a' && l <= 'z') || (l >= '0' && l <= '9') || l == '_' || l == '-';
    out.push_back(ok ? l : '-');
  }
  // A name starts with a letter or a digit.
  size_t first = out.find_first_not_of("_-");
  return first == std::string::npos ? "wf" : out.substr(first);
}

std::string TextPosition(std::string_view text, size_t offset) {
  size_t line = 1, column = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

Result<WorkflowFile> ParseWorkflowFile(std::string_view text, const std::string& file) {
  SpecError err(file);
  WorkflowFile wf;
  wf.file = file;
  fs::path dir = fs::path(file).parent_path();
  wf.dir = dir.empty() ? "." : dir.string();

  JsonSyntaxError bad;
  Result<json::value> parsed = ParseJson(text, &bad);
  if (!parsed.ok())
    return err("", "not JSON: " + TextPosition(text, bad.offset) + ": " + bad.reason);
  json::value root = std::move(parsed).value();
  if (!root.is_object()) return err("", "a workflow spec must be a JSON object");
  wf.spec = std::move(root.as_object());

  std::string spec_name;
  if (const json::value* n = wf.spec.if_contains("name"); n != nullptr && !n->is_null()) {
    if (!n->is_string() || !IsName(n->as_string())) {
      return err("name", "invalid workflow name " +
                             (n->is_string() ? Quote(n->as_string()) : ToJson(*n)) +
                             ": use 1 to 63 characters a-z, 0-9, _ and -, starting with a letter "
                             "or digit");
    }
    spec_name = std::string(n->as_string());
  }
  // Unnamed (EDGELESS's files have no name): the file names its modules.
  const std::string prefix = spec_name.empty() ? UnnamedSpecPrefix(file) : spec_name;

  const json::value* functions = wf.spec.if_contains("functions");
  if (functions == nullptr || functions->is_null()) return wf;
  if (!functions->is_array()) return err("functions", "must be an array");
  const json::array& list = functions->as_array();
  for (size_t i = 0; i < list.size(); ++i) {
    std::string at = "functions[" + std::to_string(i) + "]";
    if (!list[i].is_object()) return err(at, "must be an object");
    const json::object& fn = list[i].as_object();
    std::string field;
    ASSIGN_OR_RETURN(const json::value* code, CodeField(fn, at, err, &field));
    if (code == nullptr) continue;  // a deployed function: the control plane checks it
    if (!code->is_string() || code->as_string().empty()) {
      return err(field, "must be a path (a non-empty string)");
    }
    if (const json::value* f = fn.if_contains("function"); f != nullptr && !f->is_null()) {
      return err(at, "give \"function\" (a deployed function) or a code path, not both");
    }
    const json::value* name = fn.if_contains("name");
    if (name == nullptr || !name->is_string() || !IsName(name->as_string())) {
      return err(at + ".name",
                 name == nullptr
                     ? std::string("required (the component's name)")
                     : "invalid component name " +
                           (name->is_string() ? Quote(name->as_string()) : ToJson(*name)) +
                           ": use 1 to 63 characters a-z, 0-9, _ and -, starting "
                           "with a letter or digit");
    }
    for (const CodeRef& other : wf.code) {
      if (other.component == name->as_string()) {
        return err(at + ".name", "duplicate component name " + Quote(other.component));
      }
    }

    CodeRef ref;
    ref.index = i;
    ref.component = std::string(name->as_string());
    ref.field = field;
    ref.written = std::string(code->as_string());
    fs::path p(ref.written);
    ref.path = (p.is_absolute() ? p : (dir / p)).lexically_normal().string();
    auto kind = KindOf(p);
    if (!kind.ok()) return err(field, kind.status().message());
    ref.kind = *kind;
    std::error_code fec;
    fs::file_status st = fs::status(ref.path, fec);
    if (!fs::exists(st)) {
      bool same = fs::path(ref.written).lexically_normal().string() == ref.path;
      std::string looked = same ? "" : " (looked for " + ref.path + ")";
      return err(field, "no such file " + ref.written + looked);
    }
    if (fs::is_directory(st)) return err(field, ref.written + " is a directory, not a file");
    ref.function = DeployedFunctionName(prefix, ref.component);
    if (Status s = CheckFunctionName(ref.function); !s.ok()) {
      return err(at + ".name", "cannot deploy as " + Quote(ref.function) + ": " + s.message());
    }
    wf.code.push_back(std::move(ref));
  }
  return wf;
}

Result<WorkflowFile> LoadWorkflowFile(const std::string& file) {
  std::error_code ec;
  if (fs::is_directory(file, ec)) return UsageError(file + " is a directory, not a workflow spec");
  std::ifstream in(file, std::ios::binary);
  if (!in) return UsageError("cannot read " + file + ": " + std::strerror(errno));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return UsageError("cannot read " + file + ": " + std::strerror(errno));
  return ParseWorkflowFile(text, file);
}

json::object RewriteSpec(const WorkflowFile& wf) {
  json::object spec = wf.spec;
  if (wf.code.empty()) return spec;
  json::array& functions = spec["functions"].as_array();
  for (const CodeRef& ref : wf.code) {
    json::object& fn = functions[ref.index].as_object();
    fn.erase("code");
    if (json::value* cs = fn.if_contains("class_specification"); cs && cs->is_object()) {
      cs->as_object().erase("include_code_file");
      cs->as_object().erase("code");
    }
    fn["function"] = ref.function;
  }
  return spec;
}

}  // namespace aether::cli
