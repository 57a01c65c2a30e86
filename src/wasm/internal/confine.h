// Least privilege for the compiler process, applied by the process to
// itself before it reads untrusted input (worker/compiler_main.cc). In
// order: die with the parent, no descriptors but stdio, resource limits,
// no new privileges, Landlock (writes only inside the job directory, no
// TCP, no signals or abstract sockets outside; skipped where the kernel
// lacks it), and a seccomp filter (no sockets, no ptrace, no namespaces or
// mounts, no kernel keyrings/bpf/io_uring; no fork or exec unless the job
// runs the system C compiler).
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"

namespace aether::wasm {

struct ConfineOptions {
  std::string job_dir;                   // the one directory it may write in
  uint64_t memory_bytes = 0;             // RLIMIT_AS, inherited by every child
  uint64_t cpu_seconds = 0;              // RLIMIT_CPU, per process
  uint64_t max_file_bytes = 1ull << 30;  // RLIMIT_FSIZE
  bool allow_exec = false;               // fork + exec (the optimizing compiler)
};

// What Confine managed to apply, for the worker's diagnostics and tests.
struct ConfineReport {
  int landlock_abi = 0;  // 0 = not available
  bool seccomp = false;
};

// Errors: Internal when a mandatory step fails (rlimits, no_new_privs,
// seccomp); a kernel without Landlock is not an error.
Result<ConfineReport> Confine(const ConfineOptions& options);

}  // namespace aether::wasm
