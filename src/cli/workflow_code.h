// `aether workflow apply`, the local half: reading a workflow spec file,
// finding the functions whose module the CLI must build and upload (code
// paths), naming the functions they are deployed as, and rewriting the spec
// so that the control plane sees only deployed function names.
//
// Both spellings of a code path are recognised:
//   Aether     {"name": "parse", "code": "parse.c", ...}
//   EDGELESS   {"name": "parse", "class_specification": {"id": ..., "include_code_file":
//   "parse.c"}}
// Paths are relative to the spec file's directory. Everything else in the
// spec is left for the control plane to validate.
//
// Pure functions apart from reading the spec file and checking that code
// files exist; any thread.
#pragma once

#include <boost/json.hpp>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace aether::cli {

enum class CodeKind { kWasm, kC, kRust };

// One function of the spec whose module comes from a file.
struct CodeRef {
  size_t index = 0;       // functions[index]
  std::string component;  // the function's "name" in the spec
  std::string field;      // its JSON path: "functions[1].code" or
                          // "functions[1].class_specification.include_code_file"
  std::string written;    // the path as written in the spec
  std::string path;       // resolved against the spec file's directory
  CodeKind kind = CodeKind::kWasm;
  std::string function;  // the function it is deployed as (DeployedFunctionName)
};

struct WorkflowFile {
  std::string file;           // the spec file as given on the command line
  std::string dir;            // its directory ("." for a bare file name)
  boost::json::object spec;   // as read
  std::vector<CodeRef> code;  // in the order of "functions"
};

// The function a code path of component `component` is deployed as:
// "<prefix>-<component>", so that two workflows with a component "parse" do
// not replace each other's module; the prefix is the spec's name, or for a
// spec without one (as EDGELESS writes them) UnnamedSpecPrefix. A name over
// 63 characters keeps its first 54 and ends with "-" and 8 hex digits of
// its sha256, so it stays unique and valid. An empty prefix: "<component>".
std::string DeployedFunctionName(std::string_view spec_name, std::string_view component);

// "<directory>-<file stem>" of a spec file, lower-cased, other characters
// than [a-z0-9_-] as '-': examples/ping_pong/workflow.json gives
// "ping_pong-workflow".
std::string UnnamedSpecPrefix(const std::string& file);

// Parses spec text read from `file` (used for messages and to resolve code
// paths). Errors are InvalidArgument, one line, starting with the file and
// the JSON path of the bad field:
//   "wf.json: not JSON: line 3, column 7: syntax error"
//   "wf.json: functions[1].code: no such file ./parse.c (looked for dir/parse.c)"
//   "wf.json: functions[0]: give \"function\" or a code path, not both"
//   "wf.json: functions[2].code: unsupported file \"x.go\" (expected .wasm, .c or .rs)"
Result<WorkflowFile> ParseWorkflowFile(std::string_view text, const std::string& file);
// Reads `file` and parses it (an unreadable file is InvalidArgument too).
Result<WorkflowFile> LoadWorkflowFile(const std::string& file);

// The spec the control plane gets: every code path replaced by
// "function": <CodeRef::function> ("code", and "include_code_file" inside
// "class_specification", removed; every other field kept as written).
boost::json::object RewriteSpec(const WorkflowFile& wf);

// "line 3, column 7" of byte `offset` in `text` (both 1-based).
std::string TextPosition(std::string_view text, size_t offset);

}  // namespace aether::cli
