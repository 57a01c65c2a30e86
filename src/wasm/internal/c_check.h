// A second line of defence for the C the compiler process builds from an
// untrusted module. The first is that no name from the module reaches the C
// (translate.h: synthetic names); this check refuses a unit that contains
// what only injected code would: constructors and other load-time hooks,
// top-level assembly, unknown preprocessor directives, non-ASCII bytes,
// comments of import/export entries that are not synthetic names.
#pragma once

#include <string_view>

#include "common/result.h"

namespace aether::wasm {

// OK, or Internal naming the first offending construct and its line.
Status CheckGeneratedC(std::string_view unit);

}  // namespace aether::wasm
