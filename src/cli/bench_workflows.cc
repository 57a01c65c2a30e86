#include "cli/bench_workflows.h"

#include <type_traits>
#include <utility>
#include <vector>

#include "common/file_io.h"
#include "common/json_util.h"

namespace aether::cli::bench {
namespace {

namespace json = boost::json;

// Bounds that keep every generated workflow inside the control plane's
// limits (256 components, 64 outputs per component).
constexpr int64_t kMaxChainLength = 64;
constexpr int64_t kMaxStages = 10;
constexpr int64_t kMaxFanOut = 16;
constexpr int64_t kMaxWork = 1'000'000'000;

using ParamList = std::vector<std::pair<std::string_view, int64_t*>>;

ParamList Params(ChainParams* p) {
  return {{"min_chain_length", &p->min_chain_length},
          {"max_chain_length", &p->max_chain_length},
          {"min_work", &p->min_work},
          {"max_work", &p->max_work}};
}

ParamList Params(MapReduceParams* p) {
  return {{"min_num_stages", &p->min_num_stages},
          {"max_num_stages", &p->max_num_stages},
          {"min_fan_out", &p->min_fan_out},
          {"max_fan_out", &p->max_fan_out},
          {"min_work", &p->min_work},
          {"max_work", &p->max_work}};
}

std::string TemplateText(const ParamList& params) {
  std::string out = "{\n";
  for (size_t i = 0; i < params.size(); ++i) {
    out += "  \"" + std::string(params[i].first) + "\": " + std::to_string(*params[i].second) +
           (i + 1 < params.size() ? ",\n" : "\n");
  }
  return out + "}\n";
}

Result<std::string> ReadText(const std::string& path, std::string_view what) {
  auto text = ReadWholeFile<std::string>(path);
  if (!text.ok()) return InvalidArgument("cannot read the " + std::string(what) + " " + path);
  return std::move(text).value();
}

// A parameter file: a JSON object with only the keys of `params`, each a
// non-negative integer.
Status ReadParams(const std::string& path, const ParamList& params) {
  ASSIGN_OR_RETURN(std::string text, ReadText(path, "parameter file"));
  auto doc = ParseJson(text);
  if (!doc.ok() || !doc->is_object()) {
    return InvalidArgument(path +
                           ": not a JSON object (print one with --wf-type \"NAME;template\")");
  }
  for (const auto& [key, value] : doc->as_object()) {
    int64_t* target = nullptr;
    for (const auto& [name, field] : params) {
      if (key == name) target = field;
    }
    if (target == nullptr) {
      return InvalidArgument(path + ": unknown key \"" + SanitizeUtf8(key) + "\"" +
                             " (see --wf-type \"NAME;template\")");
    }
    if (!value.is_int64() && !value.is_uint64()) {
      return InvalidArgument(path + ": \"" + std::string(key) + "\" must be an integer");
    }
    *target = value.is_int64() ? value.as_int64() : static_cast<int64_t>(value.as_uint64());
  }
  return OkStatus();
}

Status CheckRange(std::string_view what, int64_t lo, int64_t hi, int64_t floor, int64_t ceiling) {
  if (lo < floor || hi > ceiling || lo > hi) {
    return InvalidArgument(std::string(what) + ": need " + std::to_string(floor) +
                           " <= min <= max <= " + std::to_string(ceiling) + " (got " +
                           std::to_string(lo) + ".." + std::to_string(hi) + ")");
  }
  return OkStatus();
}

Status Check(const ChainParams& p) {
  RETURN_IF_ERROR(
      CheckRange("chain length", p.min_chain_length, p.max_chain_length, 1, kMaxChainLength));
  return CheckRange("work", p.min_work, p.max_work, 0, kMaxWork);
}

Status Check(const MapReduceParams& p) {
  RETURN_IF_ERROR(CheckRange("stages", p.min_num_stages, p.max_num_stages, 1, kMaxStages));
  RETURN_IF_ERROR(CheckRange("fan-out", p.min_fan_out, p.max_fan_out, 1, kMaxFanOut));
  return CheckRange("work", p.min_work, p.max_work, 0, kMaxWork);
}

// Not std::uniform_int_distribution: its output differs between standard
// libraries, and a seed must name one set of workflows.
int64_t Draw(std::mt19937_64& rng, int64_t lo, int64_t hi) {
  return lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo + 1));
}

json::object Relay(const std::string& name, const std::string& function, std::string init,
                   json::object outputs) {
  return {{"name", name},
          {"function", function},
          {"output_mapping", std::move(outputs)},
          {"annotations", json::object{{"init_payload", std::move(init)}}}};
}

json::object Wrap(const GenerateContext& ctx, json::array functions, const std::string& first) {
  json::object ingress{{"name", "ingress"},
                       {"class_type", "http-ingress"},
                       {"configurations", json::object{{"path", kIngressPath}, {"mode", "call"}}},
                       {"output_mapping", json::object{{"new_request", first}}}};
  return {{"name", ctx.name},
          {"functions", std::move(functions)},
          {"resources", json::array{std::move(ingress)}}};
}

json::object Chain(const ChainParams& p, const GenerateContext& ctx, std::mt19937_64& rng) {
  int64_t n = Draw(rng, p.min_chain_length, p.max_chain_length);
  json::array functions;
  for (int64_t i = 0; i < n; ++i) {
    json::object out;
    if (i + 1 < n) out["out"] = "f" + std::to_string(i + 1);
    functions.push_back(Relay("f" + std::to_string(i), ctx.function,
                              "work=" + std::to_string(Draw(rng, p.min_work, p.max_work)),
                              std::move(out)));
  }
  return Wrap(ctx, std::move(functions), "f0");
}

// s0 -> {p0-0 .. p0-k} -> s1 -> ... -> s<stages>: each stage function calls
// its blocks, waits for all replies, then calls the next stage.
json::object MapReduce(const MapReduceParams& p, const GenerateContext& ctx, std::mt19937_64& rng) {
  int64_t stages = Draw(rng, p.min_num_stages, p.max_num_stages);
  json::array functions;
  for (int64_t s = 0; s <= stages; ++s) {
    std::string stage = "s" + std::to_string(s);
    int64_t fan = s < stages ? Draw(rng, p.min_fan_out, p.max_fan_out) : 0;
    json::object out;
    if (s < stages) out["out"] = "s" + std::to_string(s + 1);
    for (int64_t b = 0; b < fan; ++b) {
      std::string block = "p" + std::to_string(s) + "-" + std::to_string(b);
      out["out-" + std::to_string(b)] = block;
      functions.push_back(Relay(block, ctx.function,
                                "work=" + std::to_string(Draw(rng, p.min_work, p.max_work)), {}));
    }
    functions.push_back(
        Relay(stage, ctx.function, "fanout=" + std::to_string(fan) + ",work=0", std::move(out)));
  }
  return Wrap(ctx, std::move(functions), "s0");
}

Result<json::object> JsonSpec(const WorkflowType& t, uint64_t seq) {
  std::string text = t.spec_text;
  const std::string key = "@WF_ID";
  const std::string id = std::to_string(seq);
  for (size_t at = text.find(key); at != std::string::npos; at = text.find(key, at + id.size())) {
    text.replace(at, key.size(), id);
  }
  auto doc = ParseJson(text);
  if (!doc.ok() || !doc->is_object()) {
    std::string why = doc.ok() ? "not a JSON object" : doc.status().message();
    return InvalidArgument(t.spec_path + ": " + why);
  }
  return std::move(doc->as_object());
}

// "NAME;template" or "NAME;FILE" of a parameterized type.
template <typename P>
Result<WorkflowTypeArg> Parameterized(WorkflowKind kind, std::string_view rest, P params) {
  WorkflowTypeArg arg;
  arg.type.kind = kind;
  if (rest == "template") {
    arg.template_text = TemplateText(Params(&params));
    return arg;
  }
  if (!rest.empty()) RETURN_IF_ERROR(ReadParams(std::string(rest), Params(&params)));
  Status st = Check(params);
  if (!st.ok()) {
    return InvalidArgument((rest.empty() ? "" : std::string(rest) + ": ") + st.message());
  }
  if constexpr (std::is_same_v<P, ChainParams>) {
    arg.type.chain = params;
  } else {
    arg.type.map_reduce = params;
  }
  return arg;
}

}  // namespace

Result<WorkflowTypeArg> ParseWorkflowType(std::string_view arg, const std::string& wf_spec) {
  size_t semi = arg.find(';');
  std::string_view name = arg.substr(0, semi);
  std::string_view rest = semi == std::string_view::npos ? "" : arg.substr(semi + 1);
  if (name == "single" && rest.empty()) {
    WorkflowTypeArg a;
    a.type.kind = WorkflowKind::kSingle;
    a.type.chain = {1, 1, 0, 0};
    return a;
  }
  if (name == "chain") return Parameterized(WorkflowKind::kChain, rest, ChainParams{});
  if (name == "map-reduce") return Parameterized(WorkflowKind::kMapReduce, rest, MapReduceParams{});
  if (name == "json-spec") {
    WorkflowTypeArg a;
    a.type.kind = WorkflowKind::kJsonSpec;
    a.type.spec_path = rest.empty() ? wf_spec : std::string(rest);
    if (a.type.spec_path.empty()) {
      return InvalidArgument("--wf-type json-spec needs a spec file: --wf-spec FILE");
    }
    ASSIGN_OR_RETURN(a.type.spec_text, ReadText(a.type.spec_path, "workflow spec"));
    RETURN_IF_ERROR(JsonSpec(a.type, 0).status());
    return a;
  }
  return InvalidArgument("unknown workflow type \"" + SanitizeUtf8(arg) +
                         "\" (known: single, chain, map-reduce, json-spec; chain and map-reduce "
                         "also as \"NAME;template\" and \"NAME;FILE\")");
}

Status SetChainLength(std::string_view arg, ChainParams* params) {
  size_t dash = arg.find('-');
  std::string lo(arg.substr(0, dash));
  std::string hi(dash == std::string_view::npos ? lo : std::string(arg.substr(dash + 1)));
  auto number = [](const std::string& s, int64_t* out) {
    if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos || s.size() > 9) {
      return false;
    }
    *out = std::stoll(s);
    return true;
  };
  ChainParams p = *params;
  if (!number(lo, &p.min_chain_length) || !number(hi, &p.max_chain_length)) {
    return InvalidArgument("--chain-length takes N or MIN-MAX (got \"" + SanitizeUtf8(arg) + "\")");
  }
  Status st = Check(p);
  if (!st.ok()) return InvalidArgument("--chain-length: " + st.message());
  *params = p;
  return OkStatus();
}

std::string Describe(const WorkflowType& t) {
  auto range = [](int64_t lo, int64_t hi) {
    return lo == hi ? std::to_string(lo) : std::to_string(lo) + "-" + std::to_string(hi);
  };
  switch (t.kind) {
    case WorkflowKind::kSingle:
      return "single function";
    case WorkflowKind::kChain:
      return "chain of " + range(t.chain.min_chain_length, t.chain.max_chain_length) + " functions";
    case WorkflowKind::kMapReduce:
      return "map-reduce, " + range(t.map_reduce.min_num_stages, t.map_reduce.max_num_stages) +
             " stages of " + range(t.map_reduce.min_fan_out, t.map_reduce.max_fan_out) + " blocks";
    case WorkflowKind::kJsonSpec:
      return "json-spec " + t.spec_path;
  }
  return "?";
}

Result<json::object> GenerateSpec(const WorkflowType& t, const GenerateContext& ctx,
                                  std::mt19937_64& rng) {
  switch (t.kind) {
    case WorkflowKind::kSingle:
    case WorkflowKind::kChain:
      return Chain(t.chain, ctx, rng);
    case WorkflowKind::kMapReduce:
      return MapReduce(t.map_reduce, ctx, rng);
    case WorkflowKind::kJsonSpec:
      return JsonSpec(t, ctx.seq);
  }
  return InvalidArgument("unknown workflow type");
}

}  // namespace aether::cli::bench
