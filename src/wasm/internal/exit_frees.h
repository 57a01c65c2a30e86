// The compiler process runs one job and is killed after its answer
// (sandbox.cc): the exit returns every page its job allocated. Freeing the
// job's big structures one node at a time before the answer (wabt's IR of
// the module, tcc's compiler state: ~1 ms each for a 150 KB module) only
// delays the answer. compiler_main leaves them to the exit for its job;
// everything else (tests, the spare's warm-up, which runs before the job in
// the same process) frees them as usual.
#pragma once

namespace aether::wasm {

// From now on, in this process. Not undone.
void LeaveFreeingToExit();
bool FreeingLeftToExit();

}  // namespace aether::wasm
