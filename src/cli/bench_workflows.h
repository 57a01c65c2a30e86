// `aether bench` workflow types: what each generated workflow looks like
// (docs/cli.md, "aether bench"). The generated types wire copies of one
// deployed function (functions/workflow/relay.c) behind an http-ingress in
// call mode, so the bench can drive them and time each request end to end.
// Pure apart from reading the files an argument names; any thread.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "common/result.h"

namespace aether::cli::bench {

enum class WorkflowKind { kSingle, kChain, kMapReduce, kJsonSpec };

// The path of the generated workflows' http-ingress (/wf/<id>/in).
inline constexpr std::string_view kIngressPath = "in";

// Ranges are inclusive; each generated workflow draws its own values.
// "work" is rounds of integer mixing per event in each function (~1 ns each).
struct ChainParams {
  int64_t min_chain_length = 1;
  int64_t max_chain_length = 3;
  int64_t min_work = 0;
  int64_t max_work = 0;
};

struct MapReduceParams {
  int64_t min_num_stages = 1;
  int64_t max_num_stages = 3;
  int64_t min_fan_out = 1;
  int64_t max_fan_out = 3;
  int64_t min_work = 0;
  int64_t max_work = 1000;
};

struct WorkflowType {
  WorkflowKind kind = WorkflowKind::kSingle;
  ChainParams chain;  // kSingle: length 1
  MapReduceParams map_reduce;
  std::string spec_text;  // kJsonSpec: the file, @WF_ID not yet replaced
  std::string spec_path;
};

// --wf-type: a type to run, or (for "NAME;template") the template to print.
struct WorkflowTypeArg {
  WorkflowType type;
  std::optional<std::string> template_text;
};

// Parses "single", "chain", "map-reduce", "json-spec", and
// "chain;template", "chain;FILE", "map-reduce;template", "map-reduce;FILE",
// "json-spec;FILE" (as EDGELESS's --wf-type). json-spec takes its file from
// `wf_spec` when the argument does not name one. Errors (InvalidArgument):
// an unknown type (listing the known ones), an unreadable file, a
// parameter file that is not a JSON object of known keys with consistent
// ranges, a spec file that is not a JSON object once @WF_ID is replaced.
Result<WorkflowTypeArg> ParseWorkflowType(std::string_view arg, const std::string& wf_spec);

// --chain-length "N" or "MIN-MAX" over the range of `params`.
Status SetChainLength(std::string_view arg, ChainParams* params);

// "chain of 1-3 functions", for the summary.
std::string Describe(const WorkflowType& type);

struct GenerateContext {
  std::string name;      // the workflow's name (generated types)
  uint64_t seq = 0;      // replaces @WF_ID (json-spec)
  std::string function;  // the deployed relay function (generated types)
};

// The spec of one workflow, drawing its random values from `rng`.
// InvalidArgument only for a json-spec whose text is no longer a JSON object
// after @WF_ID is replaced.
Result<boost::json::object> GenerateSpec(const WorkflowType& type, const GenerateContext& ctx,
                                         std::mt19937_64& rng);

}  // namespace aether::cli::bench
