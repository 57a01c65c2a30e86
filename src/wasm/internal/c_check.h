// A second line of defence for the C the compiler process builds from an
// untrusted module. The first is that no name from the module reaches the C
// (translate.h: synthetic names); this check refuses a unit that contains
// what only injected code would: constructors and other load-time hooks,
// top-level assembly, unknown preprocessor directives, non-ASCII bytes,
// comments of import/export entries that are not synthetic names.
#pragma once

#include <cstddef>
#include <string_view>

#include "common/result.h"

namespace aether::wasm {

// OK, or Internal naming the first offending construct and its line.
// A unit may also be checked in pieces (internal/unit_stream.h), each from
// `first_line` on: that is sound when every piece ends at a line end that
// is not a backslash-newline, since a piece that passes leaves no comment,
// literal or directive open.
Status CheckGeneratedC(std::string_view unit, size_t first_line = 1);

}  // namespace aether::wasm
