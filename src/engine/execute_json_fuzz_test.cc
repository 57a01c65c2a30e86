// libFuzzer target for the POST /execute body parser (untrusted client
// bytes). Checks: no crash, UB or uncaught exception; the same bodies
// accepted, function and string input as a parse into a value gives; an
// accepted request names a function; a non-string "input" reaches the
// guest as JSON text
// that parses back to the same value (the engine passes the client's own
// text, minified, so this checks its scanner against boost's parser);
// responses built around the function name and input are valid JSON.
#include <boost/json.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string_view>

#include "common/json_util.h"
#include "common/result.h"
#include "engine/execute_json.h"
#include "json_equivalent.h"  // fuzz/

namespace json = boost::json;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto req = aether::engine::ParseExecuteRequest(body);

  // The one-pass parse against a whole parse into a value: the same bodies
  // accepted, the same function, the same string input (the last of each
  // repeated top-level key, as the object keeps).
  json::parse_options opts;
  opts.max_depth = aether::kMaxJsonDepth;
  boost::system::error_code ec;
  json::value dom = json::parse(body, ec, {}, opts);
  const json::object* top = ec ? nullptr : dom.if_object();
  const json::value* fn = top != nullptr ? top->if_contains("function") : nullptr;
  bool accepted = fn != nullptr && fn->is_string() && !fn->get_string().empty();
  CHECK(req.ok() == accepted);
  if (accepted) {
    CHECK(req->function == std::string_view(fn->get_string()));
    const json::value* in = top->if_contains("input");
    if (in == nullptr || in->is_null()) CHECK(req->input.empty());
    if (in != nullptr && in->is_string()) CHECK(req->input == std::string_view(in->get_string()));
  }

  if (!req.ok()) {
    CHECK(req.status().code() == aether::Code::kInvalidArgument);
    return 0;
  }
  CHECK(!req->function.empty());

  // The request parsed, so the body is a JSON object; re-parse it to learn
  // what "input" was.
  auto obj = aether::ParseJsonObject(body);
  // ParseJson refuses numbers Boost.JSON reads as non-finite (1e400, and
  // 0e4000 as NaN: docs/fuzzing.md finding 1); the engine's own parse keeps
  // them, because it hands the guest the client's text, never Boost's value.
  if (!obj.ok() && obj.status().message().find("out of range") != std::string::npos) return 0;
  CHECK(obj.ok());
  const json::value* in = obj->if_contains("input");
  if (in != nullptr && !in->is_null() && !in->is_string()) {
    // The guest gets the client's own text; Boost.JSON may read that text
    // a few ulp differently here than inside the body, hence JsonEquivalent.
    auto back = aether::ParseJson(req->input);
    bool same = back.ok() && aether::fuzz::JsonEquivalent(*back, *in);
    if (!same) {
      std::fprintf(stderr, "\"input\": %s reached the guest as %s\n", json::serialize(*in).c_str(),
                   req->input.c_str());
    }
    CHECK(same);
  }

  auto err = aether::engine::MakeLoadErrorResponse(
      req->function, aether::InvalidArgument("bad module " + req->input));
  CHECK(aether::ParseJson(err.body).ok());
  aether::wasm::RunResult run;
  run.exit_code = 3;
  run.stderr_data = req->input;
  auto resp = aether::engine::MakeRunResponse(req->function, run, std::chrono::seconds(1));
  CHECK(aether::ParseJson(resp.body).ok());
  return 0;
}
