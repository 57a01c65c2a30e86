// args, environ, clocks, random, process control, sockets (unsupported).

#include <sched.h>
#include <sys/random.h>
#include <time.h>

#include <algorithm>
#include <cerrno>

#include "wasm/internal/memory_pool.h"
#include "wasm/wasi/wasi_internal.h"
#include "wasm/wasi/wasi_wait.h"

namespace aether::wasm::wasi {
namespace {

// args_get / environ_get: `ptrs` receives `count` pointers into `buf_ptr`,
// where the packed NUL-terminated strings go.
uint32_t CopyStrings(void* vctx, const std::string& packed, uint32_t count, uint32_t ptrs,
                     uint32_t buf_ptr) {
  ExecContext* ctx = Exec(vctx);
  uint8_t* table = GuestPtr(ctx, ptrs, static_cast<uint64_t>(count) * 4);
  uint8_t* buf = GuestPtr(ctx, buf_ptr, packed.size());
  if (table == nullptr || buf == nullptr) return kEfault;
  std::memcpy(buf, packed.data(), packed.size());
  uint32_t offset = 0;
  for (uint32_t i = 0; i < count; ++i) {
    Store<uint32_t>(table + 4 * i, buf_ptr + offset);
    offset += static_cast<uint32_t>(std::strlen(packed.data() + offset)) + 1;
  }
  return kSuccess;
}

uint32_t CopySizes(void* vctx, uint32_t count, size_t bytes, uint32_t count_ptr,
                   uint32_t size_ptr) {
  ExecContext* ctx = Exec(vctx);
  uint8_t* c = GuestPtr(ctx, count_ptr, 4);
  uint8_t* s = GuestPtr(ctx, size_ptr, 4);
  if (c == nullptr || s == nullptr) return kEfault;
  Store<uint32_t>(c, count);
  Store<uint32_t>(s, static_cast<uint32_t>(bytes));
  return kSuccess;
}

uint32_t ArgsGet(void* ctx, uint32_t argv, uint32_t argv_buf) {
  WasiCtxImpl* w = Wasi(ctx);
  if (w == nullptr) return kEnosys;
  return CopyStrings(ctx, w->args_buf, w->argc, argv, argv_buf);
}

uint32_t ArgsSizesGet(void* ctx, uint32_t argc_ptr, uint32_t size_ptr) {
  WasiCtxImpl* w = Wasi(ctx);
  if (w == nullptr) return kEnosys;
  return CopySizes(ctx, w->argc, w->args_buf.size(), argc_ptr, size_ptr);
}

uint32_t EnvironGet(void* ctx, uint32_t environ, uint32_t environ_buf) {
  WasiCtxImpl* w = Wasi(ctx);
  if (w == nullptr) return kEnosys;
  return CopyStrings(ctx, w->env_buf, w->envc, environ, environ_buf);
}

uint32_t EnvironSizesGet(void* ctx, uint32_t count_ptr, uint32_t size_ptr) {
  WasiCtxImpl* w = Wasi(ctx);
  if (w == nullptr) return kEnosys;
  return CopySizes(ctx, w->envc, w->env_buf.size(), count_ptr, size_ptr);
}

// Both CPU-time clocks read the calling thread's CPU time: one execution runs
// on one thread, and the process clock would expose the CPU use of every
// other tenant of the engine.
bool HostClock(uint32_t id, clockid_t* out) {
  switch (id) {
    case 0:
      *out = CLOCK_REALTIME;
      return true;
    case 1:
      *out = CLOCK_MONOTONIC;
      return true;
    case 2:
    case 3:
      *out = CLOCK_THREAD_CPUTIME_ID;
      return true;
    default:
      return false;
  }
}

uint64_t ToNs(const struct timespec& ts) {
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

uint32_t ClockResGet(void* ctx, uint32_t id, uint32_t res_ptr) {
  clockid_t clock;
  if (!HostClock(id, &clock)) return kEinval;
  uint8_t* out = GuestPtr(Exec(ctx), res_ptr, 8);
  if (out == nullptr) return kEfault;
  struct timespec ts;
  if (clock_getres(clock, &ts) != 0) return HostErrno(errno);
  Store<uint64_t>(out, ToNs(ts));
  return kSuccess;
}

uint32_t ClockTimeGet(void* ctx, uint32_t id, uint64_t /*precision*/, uint32_t time_ptr) {
  clockid_t clock;
  if (!HostClock(id, &clock)) return kEinval;
  uint8_t* out = GuestPtr(Exec(ctx), time_ptr, 8);
  if (out == nullptr) return kEfault;
  struct timespec ts;
  if (clock_gettime(clock, &ts) != 0) return HostErrno(errno);
  Store<uint64_t>(out, ToNs(ts));
  return kSuccess;
}

// random_get must fill the whole buffer (no short count), which may be all
// of a 4 GiB memory: seconds of work. It goes in steps and stops when the
// execution ends, so it never runs far past the deadline.
uint32_t RandomGet(void* ctx, uint32_t buf_ptr, uint32_t len) {
  constexpr uint32_t kStep = 1 << 20;
  uint8_t* buf = GuestPtr(Exec(ctx), buf_ptr, len);
  if (buf == nullptr) return kEfault;
  uint32_t done = 0;
  while (done < len) {
    if (DeadlinePassed(ctx)) return kEintr;
    uint32_t step = std::min(len - done, kStep);
    PrepareGuestWrite(buf + done, step);
    ssize_t n = getrandom(buf + done, step, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return HostErrno(errno);
    }
    done += static_cast<uint32_t>(n);
  }
  return kSuccess;
}

void ProcExit(void* ctx, uint32_t code) {
  if (WasiCtxImpl* w = Wasi(ctx)) w->SetExit(code);
  Exec(ctx)->hdr.unwind = AETHER_UNWIND_EXIT;
}

uint32_t ProcRaise(void*, uint32_t) { return kEnosys; }

uint32_t SchedYield(void*) {
  sched_yield();
  return kSuccess;
}

// Sockets: the guest is given none. Like the POSIX calls, an fd that is not
// open is EBADF and any other ENOTSOCK. An inherited stdio fd that is a host
// socket is a stream to the guest (DescriptorFiletype), so it is ENOTSOCK
// too: these calls never reach the host's socket (a shutdown(2) there
// would cut the connection of whoever started `aether run`).
uint32_t SockErrno(void* ctx, uint32_t fd) {
  WasiCtxImpl* w = Wasi(ctx);
  return w == nullptr || w->Get(fd) == nullptr ? kEbadf : kEnotsock;
}
uint32_t SockAccept(void* ctx, uint32_t fd, uint32_t, uint32_t) { return SockErrno(ctx, fd); }
uint32_t SockRecv(void* ctx, uint32_t fd, uint32_t, uint32_t, uint32_t, uint32_t, uint32_t) {
  return SockErrno(ctx, fd);
}
uint32_t SockSend(void* ctx, uint32_t fd, uint32_t, uint32_t, uint32_t, uint32_t) {
  return SockErrno(ctx, fd);
}
uint32_t SockShutdown(void* ctx, uint32_t fd, uint32_t) { return SockErrno(ctx, fd); }

}  // namespace

void RegisterWasiMisc(HostRegistry& r) {
  AddFn(r, "args_get", "i:ii", ArgsGet);
  AddFn(r, "args_sizes_get", "i:ii", ArgsSizesGet);
  AddFn(r, "environ_get", "i:ii", EnvironGet);
  AddFn(r, "environ_sizes_get", "i:ii", EnvironSizesGet);
  AddFn(r, "clock_res_get", "i:ii", ClockResGet);
  AddFn(r, "clock_time_get", "i:iIi", ClockTimeGet);
  AddFn(r, "random_get", "i:ii", RandomGet);
  AddFn(r, "proc_exit", "v:i", ProcExit);
  AddFn(r, "proc_raise", "i:i", ProcRaise);
  AddFn(r, "sched_yield", "i:", SchedYield);
  AddFn(r, "sock_accept", "i:iii", SockAccept);
  AddFn(r, "sock_recv", "i:iiiiii", SockRecv);
  AddFn(r, "sock_send", "i:iiiii", SockSend);
  AddFn(r, "sock_shutdown", "i:ii", SockShutdown);
}

}  // namespace aether::wasm::wasi
