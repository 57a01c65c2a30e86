#include "wasm/internal/exit_frees.h"

#include <atomic>

namespace aether::wasm {
namespace {
std::atomic<bool> left_to_exit{false};
}  // namespace

void LeaveFreeingToExit() { left_to_exit.store(true, std::memory_order_relaxed); }
bool FreeingLeftToExit() { return left_to_exit.load(std::memory_order_relaxed); }

}  // namespace aether::wasm
