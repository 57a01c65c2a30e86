// The JSON of POST /execute: parsing the request, and the response for each
// way an execution can end. Pure functions: any thread may call them.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/result.h"
#include "wasm/engine.h"

namespace aether::engine {

struct ExecuteRequest {
  std::string function;
  // The guest's stdin: a JSON string's raw bytes; any other JSON value's
  // text as the client wrote it minus insignificant whitespace; empty when
  // "input" is absent or null.
  std::string input;
};

// Errors: InvalidArgument, naming the field where one is at fault
// ("invalid JSON at offset 3: ...", "field \"function\" is required",
// "field \"function\" must be a string").
Result<ExecuteRequest> ParseExecuteRequest(std::string_view body);

// Guest stderr kept in error responses and logs; the rest is cut off.
inline constexpr size_t kMaxStderrInError = 4096;

struct ExecuteResponse {
  int status = 200;
  std::string body;
  // The error "code" ("trap", "exit", "timeout", ...); empty on success.
  std::string_view code;
};

// 200 {"output", "execution_time_ms", "memory_used_kb"} when the guest
// exited with 0; else 500 with code "trap" (+ "trap": TrapName), "timeout"
// (the message names `timeout`) or "exit" (+ "exit_code"), each with the
// guest's "stderr". A Run() error is "instantiate" (memory over the limit),
// "invalid_module" or "internal".
ExecuteResponse MakeRunResponse(std::string_view function, const Result<wasm::RunResult>& run,
                                std::chrono::nanoseconds timeout);

// A module that could not be loaded: 500 "invalid_module" for a module the
// engine rejects, "internal" otherwise.
ExecuteResponse MakeLoadErrorResponse(std::string_view function, const Status& status);

// {"error": message, "code": code} with any HTTP status.
ExecuteResponse MakeError(int status, std::string_view code, std::string_view message);

}  // namespace aether::engine
