// libFuzzer target for what the compiler process does with an untrusted
// module: validation, the limit checks, wasm2c translation under synthetic
// names, the glue, and the check on the generated C. Checks: nothing
// crashes, hits UB or throws on any bytes; validation and translation agree
// on what is valid; and for every module that translates, the compilation
// unit passes CheckGeneratedC, which also checks that every import/export
// comment wasm2c wrote holds a synthetic name, never the module's own (the
// names-in-comments injection of issue #9).
//
// libwabt 1.0.32 asserts (aborts) on some malformed modules
// (docs/fuzzing.md, finding 0); in production that only ends the compiler
// process, which rejects the module. Here an abort inside libwabt's calls
// jumps back and skips the input; any other abort (a CHECK) goes to
// libFuzzer's handler and is reported.
#include <sanitizer/lsan_interface.h>
#include <setjmp.h>
#include <signal.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>

#include "common/result.h"
#include "wasm/internal/c_check.h"
#include "wasm/internal/glue.h"
#include "wasm/internal/translate.h"

namespace {

sigjmp_buf wabt_escape;
volatile sig_atomic_t in_wabt = 0;
struct sigaction fuzzer_abort_handler;

void OnAbort(int sig, siginfo_t* info, void* ctx) {
  if (in_wabt) siglongjmp(wabt_escape, 1);
  if (fuzzer_abort_handler.sa_flags & SA_SIGINFO) {
    fuzzer_abort_handler.sa_sigaction(sig, info, ctx);
  } else if (fuzzer_abort_handler.sa_handler != SIG_DFL &&
             fuzzer_abort_handler.sa_handler != SIG_IGN) {
    fuzzer_abort_handler.sa_handler(sig);
  }
  signal(SIGABRT, SIG_DFL);
  raise(SIGABRT);
}

// Installed at the first input, after libFuzzer installed its own handler.
void InstallAbortEscape() {
  static bool done = false;
  if (done) return;
  done = true;
  struct sigaction sa {};
  sa.sa_sigaction = &OnAbort;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGABRT, &sa, &fuzzer_abort_handler);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  InstallAbortEscape();
  std::span<const uint8_t> wasm(data, size);
  aether::wasm::ModuleLimits limits;
  // What an aborted libwabt call leaves allocated is not a leak of ours.
  __lsan_disable();
  if (sigsetjmp(wabt_escape, 0) != 0) {
    in_wabt = 0;
    __lsan_enable();
    return -1;  // a known libwabt assertion: not worth keeping in the corpus
  }
  in_wabt = 1;
  auto info = aether::wasm::ValidateInProcess(wasm, limits);
  auto translation = aether::wasm::TranslateInProcess(wasm, limits);
  in_wabt = 0;
  __lsan_enable();
  if (!info.ok()) {
    CHECK(!translation.ok());
    return 0;
  }
  if (!translation.ok()) {
    std::fprintf(stderr, "valid module failed to translate: %s\n",
                 translation.status().ToString().c_str());
  }
  CHECK(translation.ok());
  auto unit = aether::wasm::BuildCompilationUnit(*translation);
  if (!unit.ok()) std::fprintf(stderr, "glue failed: %s\n", unit.status().ToString().c_str());
  CHECK(unit.ok());
  aether::Status checked = aether::wasm::CheckGeneratedC(*unit);
  if (!checked.ok()) std::fprintf(stderr, "%s\n", checked.ToString().c_str());
  CHECK(checked.ok());
  return 0;
}
