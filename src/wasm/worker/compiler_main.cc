// aether-compiler: the confined process that validates, translates and
// compiles one untrusted module (docs/security.md). The engine and the
// control plane start it for every job (internal/sandbox.h):
//
//   aether-compiler --job-dir DIR --memory BYTES --cpu-seconds N [--exec]
//                   [--warm-heap BYTES]
//
// It confines itself first, then reads one request (worker_protocol.h)
// from stdin until EOF and writes one result to stdout. Diagnostics go to
// stderr. It is not meant to be run by hand.
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <string_view>

#include "common/file_io.h"
#include "common/sanitizers.h"
#include "common/stage_times.h"
#include "wasm/internal/compile_job.h"
#include "wasm/internal/confine.h"
#include "wasm/internal/exit_frees.h"
#include "wasm/internal/worker_protocol.h"

#if AETHER_ASAN
// Sanitizer builds only (docs/sanitizers.md). This process gets a minimal
// environment (internal/sandbox.cc), so no ASAN_OPTIONS: its options are
// these. detect_leaks=0: LeakSanitizer stops the threads with ptrace, which
// the seccomp filter refuses (internal/confine.cc). abort_on_error=1: ASan
// reports running out of compile_memory_limit (it cannot throw bad_alloc)
// and any bug it finds, then dies by SIGABRT, which the engine reports as a
// crash on the module and logs with this process's stderr.
extern "C" __attribute__((used, visibility("default"))) const char* __asan_default_options() {
  return "detect_leaks=0:abort_on_error=1";
}
#endif

namespace {

using aether::Result;
using aether::wasm::ModuleInfo;

// The request holds the module (at most the engine's max module size) plus
// small fields; anything past this is not from our engine.
constexpr size_t kMaxRequestBytes = 1ull << 30;

bool ParseU64(const char* s, uint64_t* out) {
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0') return false;
  *out = v;
  return true;
}

bool ReadAll(int fd, std::string* out) {
  char buf[1 << 16];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) return true;
    if (out->size() + static_cast<size_t>(n) > kMaxRequestBytes) return false;
    out->append(buf, static_cast<size_t>(n));
  }
}

// A spare (started before its job, --warm-heap) touches this much of its
// heap and frees it before its request comes: with the allocator tuned to keep
// freed memory (internal/sandbox.cc, kMallocTunables), the job's buffers
// then reuse pages already faulted in, and their first touch is not on the
// path of the response the job is for.
void WarmHeap(uint64_t bytes) {
  auto* p = static_cast<volatile char*>(std::malloc(bytes));
  if (p == nullptr) return;
  for (uint64_t i = 0; i < bytes; i += 4096) p[i] = 0;
  std::free(const_cast<char*>(p));
}

// A spare is started when the one before it takes a job, so at first it
// runs beside that job (a first response's compile: ~50 ms). It warms up
// only after this long without a request of its own: the warm-up then does
// not slow that job down, and a spare taken at once (a burst of compiles)
// does not spend the time.
constexpr int kWarmUpAfter = 100;  // ms

bool RequestWithin(int ms) {
  pollfd p{0, POLLIN, 0};
  for (;;) {
    int n = poll(&p, 1, ms);
    if (n < 0 && errno == EINTR) continue;  // the wait starts over: at worst later
    return n != 0;                          // input, EOF or an error: the job's read will tell
  }
}

int Usage() {
  std::fprintf(stderr,
               "usage: aether-compiler --job-dir DIR --memory BYTES --cpu-seconds N [--exec] "
               "[--warm-heap BYTES]\n"
               "(started by aether-engine and aether-control; not meant to be run by hand)\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  // Before anything else: the engine logs how long starting this process
  // took (spawn, exec, dynamic linking) from it.
  aether::wasm::WorkerTimings timings;
  timings.main_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                        std::chrono::steady_clock::now().time_since_epoch())
                        .count();
  aether::StageTimes stages;
  aether::wasm::ConfineOptions co;
  uint64_t warm_heap = 0;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    bool has_value = i + 1 < argc;
    if (a == "--job-dir" && has_value) {
      co.job_dir = argv[++i];
    } else if (a == "--memory" && has_value) {
      if (!ParseU64(argv[++i], &co.memory_bytes)) return Usage();
    } else if (a == "--cpu-seconds" && has_value) {
      if (!ParseU64(argv[++i], &co.cpu_seconds)) return Usage();
    } else if (a == "--exec") {
      co.allow_exec = true;
    } else if (a == "--warm-heap" && has_value) {
      if (!ParseU64(argv[++i], &warm_heap)) return Usage();
    } else {
      return Usage();
    }
  }
  if (co.job_dir.empty() || chdir(co.job_dir.c_str()) != 0) return Usage();
  Result<aether::wasm::ConfineReport> confined = aether::wasm::Confine(co);
  if (confined.ok() && warm_heap > 0 && !RequestWithin(kWarmUpAfter)) {
    WarmHeap(warm_heap);
    // What the job will run, once on a small module, unless the job came
    // meanwhile (it would wait for it). Its failure only means the job
    // runs cold; the job reports its own.
    if (!RequestWithin(0)) {
      if (aether::Status warm = aether::wasm::WarmUp(); !warm.ok()) {
        std::fprintf(stderr, "warm-up: %s\n", warm.message().c_str());
      }
    }
  }
  stages.Lap("confine");
  aether::wasm::LeaveFreeingToExit();  // the job's memory: killed after the answer
  Result<ModuleInfo> result = aether::Internal("unreachable");
  std::string input;
  if (!confined.ok()) {
    result = aether::Internal("the compiler process cannot confine itself: " +
                              confined.status().message());
  } else if (!ReadAll(0, &input)) {
    result = aether::Internal("the compiler process cannot read its request");
  } else {
    stages.Lap("read");
    try {
      Result<aether::wasm::WorkerRequest> request = aether::wasm::DecodeRequest(input);
      input.clear();
      input.shrink_to_fit();
      result = request.ok() ? aether::wasm::RunCompileJob(*request, &stages)
                            : Result<ModuleInfo>(request.status());
    } catch (const std::bad_alloc&) {
      result = aether::ResourceExhausted(
          "compiling the module needs more memory than [runtime] compile_memory_limit allows");
    }
  }
  timings.stages = stages.stages();
  bool sent = aether::WriteAll(1, aether::wasm::EncodeResult(result, timings));
  // The engine reads until both pipes close; closing them now lets it go on
  // while the kernel tears down this process's memory. Standard input is
  // the same socket as standard output: it closes too, or the socket would
  // stay open until the exit.
  close(0);
  close(1);
  close(2);
  return sent ? 0 : 3;
}
