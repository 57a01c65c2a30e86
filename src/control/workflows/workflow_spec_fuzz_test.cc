// libFuzzer target for ParseWorkflowSpec (workflow_spec.h): the body of
// POST /api/workflows, as any client with the admin token sends it.
// Checks, on any bytes:
//   * no crash, UB or uncaught exception; errors are InvalidArgument whose
//     message names a path ("<path>: <what>");
//   * an accepted spec has valid component names, unique across functions
//     and resources, and every output mapped to one of them;
//   * the header's promise: ParseWorkflowSpec(Serialize(s)) == s, and
//     serializing again gives the same text (what is stored and served back
//     by GET /api/workflows/{id} reads the same).
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "common/result.h"
#include "control/workflows/workflow_spec.h"

namespace {

using aether::Code;
using namespace aether::control;  // NOLINT: the parser's types

bool Name(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  }
  return s[0] != '_' && s[0] != '-';
}

void CheckAccepted(const WorkflowSpec& spec) {
  CHECK(spec.name.empty() || Name(spec.name));
  std::set<std::string> names;
  for (const FunctionSpec& f : spec.functions) {
    CHECK(Name(f.name) && names.insert(f.name).second);
    CHECK(f.max_instances >= 1 && f.max_instances <= 64);
  }
  for (const ResourceSpec& r : spec.resources) CHECK(Name(r.name) && names.insert(r.name).second);
  CHECK(names.size() <= 256);
  for (const FunctionSpec& f : spec.functions) {
    for (const auto& [out, target] : f.output_mapping) CHECK(names.count(target) == 1);
  }
  for (const ResourceSpec& r : spec.resources) {
    for (const auto& [out, target] : r.output_mapping) CHECK(names.count(target) == 1);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto spec = ParseWorkflowSpec(text);
  if (!spec.ok()) {
    CHECK(spec.status().code() == Code::kInvalidArgument);
    CHECK(spec.status().message().find(": ") != std::string::npos);
    return 0;
  }
  CheckAccepted(*spec);
  std::string once = SerializeWorkflowSpec(*spec);
  auto again = ParseWorkflowSpec(once);
  CHECK(again.ok());
  CHECK(*again == *spec);
  CHECK(SerializeWorkflowSpec(*again) == once);
  return 0;
}
