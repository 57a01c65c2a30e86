// Private to src/wasm/wasi: WASI preview1 constants, the fd table and the
// helpers the host functions share. Layouts and numbers follow the
// wasi_snapshot_preview1 witx.
#pragma once

#include <time.h>

#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "wasm/host.h"
#include "wasm/wasi/wasi.h"

namespace aether::wasm::wasi {

static_assert(std::endian::native == std::endian::little,
              "guest memory is little-endian; loads and stores below are plain memcpy");

// errno (the subset the host produces by name; host errnos go through
// HostErrno()).
enum Errno : uint32_t {
  kSuccess = 0,
  kE2big = 1,
  kEacces = 2,
  kEagain = 6,
  kEbadf = 8,
  kEexist = 20,
  kEfault = 21,
  kEfbig = 22,
  kEintr = 27,
  kEinval = 28,
  kEio = 29,
  kEisdir = 31,
  kEloop = 32,
  kEmfile = 33,
  kEnametoolong = 37,
  kEnoent = 44,
  kEnomem = 48,
  kEnosys = 52,
  kEnotdir = 54,
  kEnotempty = 55,
  kEnotsock = 57,
  kEnotsup = 58,
  kEoverflow = 61,
  kEperm = 63,
  kEspipe = 70,
  kEnotcapable = 76,
};

// Maps a Linux errno to the WASI errno.
uint32_t HostErrno(int err);

enum Filetype : uint8_t {
  kFtUnknown = 0,
  kFtBlockDevice = 1,
  kFtCharDevice = 2,
  kFtDirectory = 3,
  kFtRegularFile = 4,
  kFtSocketDgram = 5,
  kFtSocketStream = 6,
  kFtSymlink = 7,
};

// Filetype of a host st_mode.
uint8_t FiletypeOfMode(uint32_t mode);
// The filetype a descriptor of a host st_mode is given to the guest as. The
// sandbox offers no socket calls, so a host socket (an inherited stdio
// socket) is a plain stream to the guest, like a pipe: kFtUnknown. Host
// calls act on this type, never on the host fd's own nature.
uint8_t DescriptorFiletype(uint32_t mode);

// Rights.
constexpr uint64_t kRightFdDatasync = 1ull << 0;
constexpr uint64_t kRightFdRead = 1ull << 1;
constexpr uint64_t kRightFdSeek = 1ull << 2;
constexpr uint64_t kRightFdFdstatSetFlags = 1ull << 3;
constexpr uint64_t kRightFdSync = 1ull << 4;
constexpr uint64_t kRightFdTell = 1ull << 5;
constexpr uint64_t kRightFdWrite = 1ull << 6;
constexpr uint64_t kRightFdAdvise = 1ull << 7;
constexpr uint64_t kRightFdAllocate = 1ull << 8;
constexpr uint64_t kRightPathCreateDirectory = 1ull << 9;
constexpr uint64_t kRightPathCreateFile = 1ull << 10;
constexpr uint64_t kRightPathLinkSource = 1ull << 11;
constexpr uint64_t kRightPathLinkTarget = 1ull << 12;
constexpr uint64_t kRightPathOpen = 1ull << 13;
constexpr uint64_t kRightFdReaddir = 1ull << 14;
constexpr uint64_t kRightPathReadlink = 1ull << 15;
constexpr uint64_t kRightPathRenameSource = 1ull << 16;
constexpr uint64_t kRightPathRenameTarget = 1ull << 17;
constexpr uint64_t kRightPathFilestatGet = 1ull << 18;
constexpr uint64_t kRightPathFilestatSetSize = 1ull << 19;
constexpr uint64_t kRightPathFilestatSetTimes = 1ull << 20;
constexpr uint64_t kRightFdFilestatGet = 1ull << 21;
constexpr uint64_t kRightFdFilestatSetSize = 1ull << 22;
constexpr uint64_t kRightFdFilestatSetTimes = 1ull << 23;
constexpr uint64_t kRightPathSymlink = 1ull << 24;
constexpr uint64_t kRightPathRemoveDirectory = 1ull << 25;
constexpr uint64_t kRightPathUnlinkFile = 1ull << 26;
constexpr uint64_t kRightPollFdReadwrite = 1ull << 27;
constexpr uint64_t kRightSockShutdown = 1ull << 28;
constexpr uint64_t kRightSockAccept = 1ull << 29;
constexpr uint64_t kAllRights = (1ull << 30) - 1;

// What a regular file (or any non-directory) fd may do.
constexpr uint64_t kFileRights =
    kRightFdDatasync | kRightFdRead | kRightFdSeek | kRightFdFdstatSetFlags | kRightFdSync |
    kRightFdTell | kRightFdWrite | kRightFdAdvise | kRightFdAllocate | kRightFdFilestatGet |
    kRightFdFilestatSetSize | kRightFdFilestatSetTimes | kRightPollFdReadwrite;
// What a directory fd may do.
constexpr uint64_t kDirRights =
    kRightFdFdstatSetFlags | kRightFdSync | kRightFdDatasync | kRightPathCreateDirectory |
    kRightPathCreateFile | kRightPathLinkSource | kRightPathLinkTarget | kRightPathOpen |
    kRightFdReaddir | kRightPathReadlink | kRightPathRenameSource | kRightPathRenameTarget |
    kRightPathFilestatGet | kRightPathFilestatSetSize | kRightPathFilestatSetTimes |
    kRightFdFilestatGet | kRightFdFilestatSetTimes | kRightPathSymlink | kRightPathRemoveDirectory |
    kRightPathUnlinkFile | kRightPollFdReadwrite;
// Stdio streams are not seekable; wasi-libc's isatty() also relies on a
// character device lacking fd_seek/fd_tell.
constexpr uint64_t kStreamRights = kFileRights & ~(kRightFdSeek | kRightFdTell);

// fdflags
constexpr uint16_t kFdflagAppend = 1;
constexpr uint16_t kFdflagDsync = 2;
constexpr uint16_t kFdflagNonblock = 4;
constexpr uint16_t kFdflagRsync = 8;
constexpr uint16_t kFdflagSync = 16;
// oflags
constexpr uint16_t kOflagCreat = 1;
constexpr uint16_t kOflagDirectory = 2;
constexpr uint16_t kOflagExcl = 4;
constexpr uint16_t kOflagTrunc = 8;
// lookupflags
constexpr uint32_t kLookupSymlinkFollow = 1;
// fstflags
constexpr uint16_t kFstAtim = 1;
constexpr uint16_t kFstAtimNow = 2;
constexpr uint16_t kFstMtim = 4;
constexpr uint16_t kFstMtimNow = 8;

// Struct sizes in guest memory.
constexpr uint32_t kFdstatSize = 24;
constexpr uint32_t kFilestatSize = 64;
constexpr uint32_t kDirentSize = 24;
constexpr uint32_t kPrestatSize = 8;
constexpr uint32_t kIovecSize = 8;
constexpr uint32_t kSubscriptionSize = 48;
constexpr uint32_t kEventSize = 32;

enum class FdKind : uint8_t { kFree, kStdinCapture, kStdoutCapture, kStderrCapture, kHost };

struct FdEntry {
  FdKind kind = FdKind::kFree;
  uint8_t filetype = kFtUnknown;
  uint16_t fdflags = 0;
  int host_fd = -1;
  bool owned = false;    // close host_fd when the entry goes away
  int32_t preopen = -1;  // index into WasiCtxImpl::preopen_names, or -1
  uint64_t rights_base = 0;
  uint64_t rights_inheriting = 0;

  bool has(uint64_t rights) const { return (rights_base & rights) == rights; }
};

class WasiCtxImpl final : public WasiCtx {
 public:
  WasiCtxImpl() = default;
  ~WasiCtxImpl() override;

  // The entry for a guest fd, or null when it is not open.
  FdEntry* Get(uint32_t fd) {
    if (fd >= fds.size() || fds[fd].kind == FdKind::kFree) return nullptr;
    return &fds[fd];
  }
  // Installs `entry` at the lowest free number; EMFILE when the table is full
  // (the caller still owns entry.host_fd then).
  uint32_t Allocate(const FdEntry& entry, uint32_t* fd_out);
  // Closes the host fd if owned and frees the slot.
  void Release(uint32_t fd);
  // Drops free slots at the end of the table.
  void TrimFree() {
    while (!fds.empty() && fds.back().kind == FdKind::kFree) fds.pop_back();
  }
  void SetExit(uint32_t code) {
    exited_ = true;
    exit_code_ = code;
  }

  std::vector<FdEntry> fds;
  std::vector<std::string> preopen_names;
  // argv / environ, each string NUL-terminated, back to back: exactly what
  // args_get / environ_get copy into the guest.
  std::string args_buf;
  uint32_t argc = 0;
  std::string env_buf;
  uint32_t envc = 0;
  std::string_view stdin_data;
  size_t stdin_pos = 0;
  uint64_t max_output = 0;
  std::function<void(int fd, std::string_view bytes)> output_sink;  // see WasiOptions
  uint32_t max_fds = 0;
  std::vector<char> dirent_scratch;  // fd_readdir's getdents64 buffer, reused
  std::string sink_scratch;          // fd_write's join for output_sink, reused
};

inline ExecContext* Exec(void* ctx) { return static_cast<ExecContext*>(ctx); }
inline WasiCtxImpl* Wasi(void* ctx) { return static_cast<WasiCtxImpl*>(Exec(ctx)->wasi); }

template <typename T>
T Load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}
template <typename T>
void Store(uint8_t* p, T v) {
  std::memcpy(p, &v, sizeof(T));
}

// Writes a u32 / u64 to guest memory; false when out of bounds.
inline bool StoreU32(ExecContext* ctx, uint32_t ptr, uint32_t v) {
  uint8_t* p = GuestPtr(ctx, ptr, 4);
  if (p == nullptr) return false;
  Store(p, v);
  return true;
}
inline bool StoreU64(ExecContext* ctx, uint32_t ptr, uint64_t v) {
  uint8_t* p = GuestPtr(ctx, ptr, 8);
  if (p == nullptr) return false;
  Store(p, v);
  return true;
}

// Whether a blocking call interrupted by a signal should give up: the
// runtime sets hdr.unwind before interrupting us for a timeout.
inline bool ShouldStop(void* ctx) { return Exec(ctx)->hdr.unwind != AETHER_UNWIND_NONE; }

// Runs a host system call that does not wait for another party (files,
// directories), retrying on EINTR. When the runtime is unwinding it returns
// -1 with errno EINTR without (re)starting the call: the timeout's signal
// may have come before the first attempt, and it comes only once. Calls
// that can wait use wasi_wait.h instead.
template <typename F>
auto Retry(void* ctx, F&& f) -> decltype(f()) {
  for (;;) {
    if (ShouldStop(ctx)) {
      errno = EINTR;
      return -1;
    }
    auto rc = f();
    if (rc >= 0 || errno != EINTR) return rc;
  }
}

// The WASI errno of a system call's return value (read errno right after).
inline uint32_t ErrnoOf(long rc) { return rc >= 0 ? uint32_t{kSuccess} : HostErrno(errno); }

// Runs `f` and turns any C++ exception into an errno, so that none crosses
// into guest code.
template <typename F>
uint32_t Guarded(F&& f) noexcept {
  try {
    return f();
  } catch (const std::bad_alloc&) {
    return kEnomem;
  } catch (...) {
    return kEio;
  }
}

// Looks up `fd` and checks that it holds `rights`: EBADF when it is not
// open, ENOTCAPABLE when a right is missing.
inline uint32_t Lookup(void* ctx, uint32_t fd, uint64_t rights, FdEntry** out) {
  WasiCtxImpl* w = Wasi(ctx);
  FdEntry* e = w == nullptr ? nullptr : w->Get(fd);
  if (e == nullptr) return kEbadf;
  if (!e->has(rights)) return kEnotcapable;
  *out = e;
  return kSuccess;
}

// Converts WASI (atim, mtim, fstflags) into utimensat's times; EINVAL for
// contradictory or unknown flags.
uint32_t MakeTimes(uint64_t atim, uint64_t mtim, uint32_t fst_flags, struct timespec times[2]);

// Writes a 64-byte filestat for a host stat buffer (struct stat*).
void StoreFilestat(uint8_t* out, const void* host_stat);

void RegisterWasiMisc(HostRegistry& registry);
void RegisterWasiFd(HostRegistry& registry);
void RegisterWasiPath(HostRegistry& registry);
void RegisterWasiPoll(HostRegistry& registry);

// Registers one host function; `fn` is a plain function pointer.
template <typename Fn>
void AddFn(HostRegistry& registry, const char* name, const char* signature, Fn fn) {
  registry.Add(
      HostFunction{"wasi_snapshot_preview1", name, signature, reinterpret_cast<void*>(fn)});
}

}  // namespace aether::wasm::wasi
