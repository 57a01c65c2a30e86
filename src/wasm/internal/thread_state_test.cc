// The fault handler's other side: a fault that is not a guest's still ends
// the process, through the action that was there before the runtime's.
#include "wasm/internal/thread_state.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>

#include <cstdlib>

#include "common/sanitizers.h"

#if AETHER_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

namespace aether::wasm {
namespace {

void FaultOutsideGuestCode() {
  InstallSignalHandlers();
  PrepareCurrentThread();
#if AETHER_ASAN
  __sanitizer_set_report_path("stderr");  // not ASAN_OPTIONS' log_path: the test reads it
#endif
  // A stray pointer in host code.
  void* page = mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  *static_cast<volatile char*>(page) = 1;
  std::abort();  // not reached
}

TEST(ThreadStateDeathTest, AHostFaultReachesTheActionFromBeforeTheRuntime) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  if (AETHER_ASAN) {
    // ASan's handler, which the runtime's replaced, reports the fault.
    EXPECT_DEATH(FaultOutsideGuestCode(), "AddressSanitizer: SEGV");
  } else {
    EXPECT_EXIT(FaultOutsideGuestCode(), ::testing::KilledBySignal(SIGSEGV), "");
  }
}

}  // namespace
}  // namespace aether::wasm
