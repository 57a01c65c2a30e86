// Per-thread state of guest execution, the signal handlers that turn faults
// into traps, and the watchdog that interrupts guests past their deadline.
//
// This is the one place with process-wide state (CONVENTIONS.md habit 6):
// signal handlers can only reach thread-local and global data.
#pragma once

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <cstdint>

#include "wasm/engine.h"
#include "wasm/host.h"

namespace aether::wasm {

class MemoryPool;

struct ThreadState {
  enum Phase : int { kIdle = 0, kGuest = 1, kRuntime = 2 };

  // Set once by PrepareCurrentThread.
  bool prepared = false;
  pthread_t thread{};
  uintptr_t stack_lo = 0;     // lowest usable stack address
  uintptr_t guard_lo = 0;     // guard region [guard_lo, stack_lo)
  uintptr_t stack_floor = 0;  // host calls must start above this
  void* altstack = nullptr;

  // Per execution.
  volatile int phase = kIdle;
  ExecContext* ctx = nullptr;
  MemoryPool* pool = nullptr;
  uint64_t limit_bytes = 0;        // linear memory + tables
  uint64_t memory_bytes = 0;       // current linear memory size
  uint64_t table_bytes = 0;        // current size of all tables
  uint64_t peak_bytes = 0;         // largest memory_bytes + table_bytes reached
  uint8_t* memory_base = nullptr;  // current linear memory reservation
  TrapKind trap = TrapKind::kNone;
  char init_error[160] = {0};

  // Watchdog: `armed` holds the execution's generation (0 = not armed);
  // the watchdog sets kFired in it, by compare-and-swap, before it signals.
  static constexpr uint64_t kFired = 1ull << 63;
  std::atomic<uint64_t> armed{0};
  std::atomic<int64_t> deadline_ns{0};
  std::atomic<int64_t> timeout_ns{0};  // of the last arm: sets the watchdog's pace
  uint64_t generation = 0;
};

ThreadState* CurrentThreadState();
void PrepareCurrentThread();
void InstallSignalHandlers();
void ArmWatchdog(ThreadState* st, std::chrono::nanoseconds timeout);
void DisarmWatchdog(ThreadState* st);
// How many times the watchdog has looked at the armed threads (tests).
uint64_t WatchdogScans();

}  // namespace aether::wasm
