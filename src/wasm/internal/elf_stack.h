// Shared objects whose stacks stay non-executable. tcc 0.9.27 writes no
// PT_GNU_STACK program header, and for an object without one glibc's
// dlopen() makes every thread stack of the process executable (as old
// objects once needed): one fast-tier module turned the engine's stacks,
// the main one included, into rwx memory. The compiler process marks each
// object it writes, so that loading it changes nothing.
#pragma once

#include <string>

#include "common/result.h"

namespace aether::wasm {

// Gives the ELF64 shared object at `path` a PT_GNU_STACK header without
// PF_X: an existing one loses PF_X in place; otherwise a copy of the
// program header table with the entry added is appended to the file and
// the ELF header points at it (glibc reads the table from the file, and
// copies it when no segment maps it). Internal for a file that is not a
// little-endian ELF64 object or cannot be read or written.
Status MarkStackNotExecutable(const std::string& path);

// Whether the object at `path` asks for an executable stack (no
// PT_GNU_STACK, or one with PF_X), as glibc would decide. For tests.
Result<bool> WantsExecutableStack(const std::string& path);

}  // namespace aether::wasm
