// The WASI preview1 host ("wasi_snapshot_preview1"): the state of one guest
// execution (WasiCtx) and the host functions that operate on it.
//
// Ownership: the runtime owns one WasiCtx per execution (or per workflow
// instance) and points ExecContext::wasi at it. The WasiCtx owns every host
// fd it opened (preopens, files the guest opened) and closes them on
// destruction; inherited stdio fds are borrowed, never closed.
//
// Threads: a WasiCtx is used by one thread at a time (the one running the
// guest). RegisterWasi() fills a registry once at startup.
//
// Sandbox: the guest sees only its preopened directories. Every path is
// resolved beneath a directory fd with openat2(RESOLVE_BENEATH |
// RESOLVE_NO_MAGICLINKS), so "..", absolute paths and symlinks that leave
// the preopen fail with ENOTCAPABLE. Guests may not create symlinks with
// absolute targets (ENOTCAPABLE): such a link could never resolve inside the
// sandbox, and refusing it keeps host tools that later walk the directory
// from following it out.
//
// Captured stdio (inherit_stdio = false): fd 0 reads `stdin_data`, fds 1 and
// 2 append to stdout_data() / stderr_data(). Each captured output stream
// holds at most `max_output_bytes`: a write that crosses the cap is cut short
// at the cap (it returns the number of bytes that fit, like a write hitting
// RLIMIT_FSIZE), and any further write returns EFBIG (22); the cap is checked
// before each buffer is copied. With an output_sink, writes go to the sink
// instead and always succeed.
//
// Bounded copies: one fd_read / fd_write / fd_pread / fd_pwrite moves at most
// 16 MiB (a short count beyond; iovecs that overlap are never gathered into
// one buffer), a write to an output_sink at most 64 KiB, and poll_oneoff
// takes at most 4096 subscriptions (EINVAL beyond).
//
// Timeouts: no host call sleeps past the execution's deadline. Waits (in
// poll_oneoff, and in reads and writes of pipes, sockets, terminals and
// FIFOs) are bounded by it; a call that reaches it sets hdr.unwind to
// AETHER_UNWIND_TIMEOUT and returns EINTR (27), so the execution ends with a
// timeout even if the watchdog's signal was lost. A FIFO is opened without
// waiting for its other end (O_NONBLOCK semantics: a write-only open with no
// reader fails with ENXIO).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/limits.h"
#include "common/result.h"
#include "wasm/engine.h"
#include "wasm/host.h"

namespace aether::wasm {

struct WasiOptions {
  std::vector<std::string> args;  // argv; args[0] is the program name
  std::vector<std::string> env;   // "KEY=VALUE"
  std::vector<Preopen> preopens;  // become fds 3, 4, ... in this order
  bool inherit_stdio = false;     // true: fds 0, 1, 2 are the process's own 0, 1, 2
  // Capture mode: what the guest reads from fd 0. Not copied: it must outlive
  // the WasiCtx.
  std::string_view stdin_data;
  uint64_t max_output_bytes = kDefaultMaxOutput;  // capture mode: cap per output stream
  // Capture mode: when set, every write to fd 1 or 2 goes to this sink (one
  // call per fd_write, of at most 64 KiB, on the guest's thread) instead of
  // stdout_data() / stderr_data(), and nothing is buffered, so
  // max_output_bytes does not apply. For long-lived instances, whose output
  // must not pile up.
  std::function<void(int fd, std::string_view bytes)> output_sink;
  uint32_t max_fds = 1024;  // open fds per execution; beyond: EMFILE
};

class WasiCtx {
 public:
  // Opens the preopened directories. Errors: kNotFound when a preopen
  // directory does not exist, kInvalidArgument when it is not a directory,
  // kPermissionDenied / kInternal for other open failures. With no preopens
  // and captured stdio it makes no system calls.
  static Result<std::unique_ptr<WasiCtx>> Create(const WasiOptions& options);

  virtual ~WasiCtx();
  WasiCtx(const WasiCtx&) = delete;
  WasiCtx& operator=(const WasiCtx&) = delete;

  // Captured output (empty in inherit mode). Mutable so the runtime can move
  // the bytes into its result.
  std::string& stdout_data() { return stdout_; }
  std::string& stderr_data() { return stderr_; }

  // Set by proc_exit.
  bool exited() const { return exited_; }
  uint32_t exit_code() const { return exit_code_; }

 protected:
  WasiCtx() = default;

  std::string stdout_;
  std::string stderr_;
  bool exited_ = false;
  uint32_t exit_code_ = 0;
};

// Registers all 46 functions of "wasi_snapshot_preview1" with their exact
// signatures. Every function returns a WASI errno (0 = success), except
// proc_exit which records the code, sets ctx->hdr.unwind to
// AETHER_UNWIND_EXIT and returns. proc_raise returns ENOSYS; the sock_*
// calls return EBADF for an fd that is not open and ENOTSOCK otherwise: the
// guest is given no sockets, and an inherited stdio fd that is a host socket
// is a stream of unknown filetype to it (fd_fdstat_get, fd_filestat_get),
// so no guest call reaches the host's socket. A guest pointer outside its
// memory gives EFAULT. Once ctx->hdr.unwind is set, a call that would block
// or start a system call returns EINTR at once.
void RegisterWasi(HostRegistry& registry);

}  // namespace aether::wasm
