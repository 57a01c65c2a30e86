// WasiCtx construction, the fd table, and registration of every function.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "wasm/wasi/wasi_internal.h"

namespace aether::wasm {

WasiCtx::~WasiCtx() = default;

namespace wasi {
namespace {

// Concatenates `strings` NUL-terminated into one buffer: a single allocation
// per list keeps Create() cheap and is the exact layout args_get copies out.
void Pack(const std::vector<std::string>& strings, std::string* buf, uint32_t* count) {
  size_t total = 0;
  for (const std::string& s : strings) total += s.size() + 1;
  buf->reserve(total);
  for (const std::string& s : strings) {
    buf->append(s);
    buf->push_back('\0');
  }
  *count = static_cast<uint32_t>(strings.size());
}

FdEntry CapturedStdio(FdKind kind) {
  FdEntry e;
  e.kind = kind;
  e.filetype = kFtCharDevice;
  e.rights_base = kRightFdFilestatGet | kRightPollFdReadwrite | kRightFdFdstatSetFlags |
                  (kind == FdKind::kStdinCapture ? kRightFdRead : kRightFdWrite);
  return e;
}

FdEntry InheritedStdio(int fd) {
  FdEntry e;
  e.kind = FdKind::kHost;
  e.host_fd = fd;
  e.owned = false;  // the process's own stdio: borrowed, never closed
  struct stat st;
  // A socket here (Node's child_process, systemd socket activation) stays
  // the host's: the guest gets a stream, and sock_shutdown says ENOTSOCK.
  e.filetype = fstat(fd, &st) == 0 ? DescriptorFiletype(st.st_mode) : uint8_t{kFtUnknown};
  e.rights_base = e.filetype == kFtRegularFile ? kFileRights : kStreamRights;
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0) {
    if (fl & O_APPEND) e.fdflags |= kFdflagAppend;
    if (fl & O_NONBLOCK) e.fdflags |= kFdflagNonblock;
  }
  return e;
}

Status OpenPreopen(const Preopen& p, int* fd_out) {
  int fd = open(p.host_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    *fd_out = fd;
    return OkStatus();
  }
  int err = errno;
  std::string what = "preopen directory '" + p.host_path + "' (guest path '" + p.guest_path + "')";
  switch (err) {
    case ENOENT:
      return NotFound(what + " does not exist");
    case ENOTDIR:
      return InvalidArgument(what + " is not a directory");
    case EACCES:
    case EPERM:
      return PermissionDenied(what + " cannot be opened: " + std::strerror(err));
    default:
      return Internal(what + " cannot be opened: " + std::strerror(err));
  }
}

}  // namespace

WasiCtxImpl::~WasiCtxImpl() {
  for (const FdEntry& e : fds) {
    if (e.kind == FdKind::kHost && e.owned) close(e.host_fd);
  }
}

uint32_t WasiCtxImpl::Allocate(const FdEntry& entry, uint32_t* fd_out) {
  for (size_t i = 0; i < fds.size(); ++i) {
    if (fds[i].kind == FdKind::kFree) {
      fds[i] = entry;
      *fd_out = static_cast<uint32_t>(i);
      return kSuccess;
    }
  }
  if (fds.size() >= max_fds) return kEmfile;
  fds.push_back(entry);
  *fd_out = static_cast<uint32_t>(fds.size() - 1);
  return kSuccess;
}

void WasiCtxImpl::Release(uint32_t fd) {
  FdEntry& e = fds[fd];
  // close() is not retried on EINTR: Linux frees the descriptor regardless.
  if (e.kind == FdKind::kHost && e.owned) close(e.host_fd);
  e = FdEntry{};
  TrimFree();
}

uint8_t FiletypeOfMode(uint32_t mode) {
  switch (mode & S_IFMT) {
    case S_IFBLK:
      return kFtBlockDevice;
    case S_IFCHR:
      return kFtCharDevice;
    case S_IFDIR:
      return kFtDirectory;
    case S_IFREG:
      return kFtRegularFile;
    case S_IFSOCK:
      return kFtSocketStream;
    case S_IFLNK:
      return kFtSymlink;
    default:  // FIFOs have no WASI filetype
      return kFtUnknown;
  }
}

uint8_t DescriptorFiletype(uint32_t mode) {
  uint8_t type = FiletypeOfMode(mode);
  return type == kFtSocketStream || type == kFtSocketDgram ? uint8_t{kFtUnknown} : type;
}

void StoreFilestat(uint8_t* out, const void* host_stat) {
  const struct stat& st = *static_cast<const struct stat*>(host_stat);
  auto ns = [](const struct timespec& ts) {
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
  };
  std::memset(out, 0, kFilestatSize);
  Store<uint64_t>(out + 0, st.st_dev);
  Store<uint64_t>(out + 8, st.st_ino);
  out[16] = FiletypeOfMode(st.st_mode);
  Store<uint64_t>(out + 24, st.st_nlink);
  Store<uint64_t>(out + 32, static_cast<uint64_t>(st.st_size));
  Store<uint64_t>(out + 40, ns(st.st_atim));
  Store<uint64_t>(out + 48, ns(st.st_mtim));
  Store<uint64_t>(out + 56, ns(st.st_ctim));
}

}  // namespace wasi

Result<std::unique_ptr<WasiCtx>> WasiCtx::Create(const WasiOptions& options) {
  using namespace wasi;  // NOLINT(google-build-using-namespace)
  try {
    auto ctx = std::make_unique<WasiCtxImpl>();
    ctx->max_output = options.max_output_bytes;
    ctx->output_sink = options.output_sink;
    ctx->max_fds = options.max_fds < 3 ? 3 : options.max_fds;
    ctx->stdin_data = options.stdin_data;
    Pack(options.args, &ctx->args_buf, &ctx->argc);
    Pack(options.env, &ctx->env_buf, &ctx->envc);
    // Room for a few files the guest opens without regrowing.
    ctx->fds.reserve(3 + options.preopens.size() + 4);
    if (options.inherit_stdio) {
      for (int fd = 0; fd < 3; ++fd) ctx->fds.push_back(InheritedStdio(fd));
    } else {
      ctx->fds.push_back(CapturedStdio(FdKind::kStdinCapture));
      ctx->fds.push_back(CapturedStdio(FdKind::kStdoutCapture));
      ctx->fds.push_back(CapturedStdio(FdKind::kStderrCapture));
    }
    if (!options.preopens.empty()) ctx->preopen_names.reserve(options.preopens.size());
    for (const Preopen& p : options.preopens) {
      int fd = -1;
      RETURN_IF_ERROR(OpenPreopen(p, &fd));  // earlier preopens close with ctx
      FdEntry e;
      e.kind = FdKind::kHost;
      e.filetype = kFtDirectory;
      e.host_fd = fd;
      e.owned = true;
      e.preopen = static_cast<int32_t>(ctx->preopen_names.size());
      e.rights_base = kDirRights;
      e.rights_inheriting = kDirRights | kFileRights;
      ctx->fds.push_back(e);
      ctx->preopen_names.push_back(p.guest_path.empty() ? "." : p.guest_path);
    }
    return std::unique_ptr<WasiCtx>(std::move(ctx));
  } catch (const std::bad_alloc&) {
    return ResourceExhausted("out of memory creating the WASI context");
  }
}

void RegisterWasi(HostRegistry& registry) {
  wasi::RegisterWasiMisc(registry);
  wasi::RegisterWasiFd(registry);
  wasi::RegisterWasiPath(registry);
  wasi::RegisterWasiPoll(registry);
}

}  // namespace aether::wasm
