// wasm2c writes each data segment as an array initializer, six characters
// and one parsed constant expression per byte ("0x5c, "). On the fast tier
// tcc spends a sixth of a typical Rust module's compile on those lists, on
// the path of the module's first response; as string literals (one
// character for most printable bytes, four for the rest) they cost little.
#pragma once

#include <string>
#include <string_view>

namespace aether::wasm {

// How each of those initializers begins.
inline constexpr std::string_view kDataArrayStart = "static const u8 data_segment_data_";

// `c` (wasm2c 1.0.32 output) with every `static const u8
// data_segment_data_<name>[] = { 0x.., ... };` rewritten as the same bytes
// in a string literal. The arrays' sizes are never read (wasm2c passes
// every segment's length as a constant), so the literal's extra NUL is
// harmless. An initializer not in exactly that shape is left as written.
std::string DataArraysAsStrings(std::string_view c);

}  // namespace aether::wasm
