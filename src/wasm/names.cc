#include "wasm/engine.h"

namespace aether::wasm {

std::string_view TrapName(TrapKind kind) {
  switch (kind) {
    case TrapKind::kNone:
      return "none";
    case TrapKind::kOutOfBounds:
      return "out_of_bounds";
    case TrapKind::kIntegerOverflow:
      return "integer_overflow";
    case TrapKind::kDivideByZero:
      return "integer_divide_by_zero";
    case TrapKind::kInvalidConversion:
      return "invalid_conversion_to_integer";
    case TrapKind::kUnreachable:
      return "unreachable";
    case TrapKind::kIndirectCallMismatch:
      return "indirect_call_type_mismatch";
    case TrapKind::kStackExhausted:
      return "stack_exhausted";
    case TrapKind::kTimeout:
      return "timeout";
    case TrapKind::kHostError:
      return "host_error";
  }
  return "unknown";
}

std::string_view TrapMessage(TrapKind kind) {
  switch (kind) {
    case TrapKind::kNone:
      return "no trap";
    case TrapKind::kOutOfBounds:
      return "out of bounds memory access";
    case TrapKind::kIntegerOverflow:
      return "integer overflow";
    case TrapKind::kDivideByZero:
      return "integer divide by zero";
    case TrapKind::kInvalidConversion:
      return "invalid conversion to integer";
    case TrapKind::kUnreachable:
      return "unreachable instruction executed";
    case TrapKind::kIndirectCallMismatch:
      return "indirect call type mismatch or null/out-of-range table entry";
    case TrapKind::kStackExhausted:
      return "call stack exhausted";
    case TrapKind::kTimeout:
      return "execution timed out";
    case TrapKind::kHostError:
      return "invalid use of a host function";
  }
  return "unknown trap";
}

std::string_view TierName(Tier tier) { return tier == Tier::kFast ? "fast" : "optimized"; }

}  // namespace aether::wasm
