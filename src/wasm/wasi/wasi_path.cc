// path_* functions. The sandbox boundary lives here.
//
// Every lookup starts at a directory fd the guest holds and goes through
// openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS): the kernel refuses
// absolute paths, ".." above the starting directory and symlinks that lead
// out (EXDEV, reported as ENOTCAPABLE), atomically with the walk. Operations
// that are not opens first open the parent directory that way and then act
// on the last component with an *at call, which never follows a final
// symlink and treats a final "." / ".." as the kernel does (EEXIST, EBUSY,
// ...) without walking it. Operations on the target itself (stat, utimes,
// readlink) open it with O_PATH beneath the root and act on that fd.

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

#include "wasm/internal/memory_pool.h"
#include "wasm/wasi/wasi_internal.h"

namespace aether::wasm::wasi {
namespace {

constexpr int kMaxSymlinkHops = 40;  // Linux's own limit

// Opens `path` beneath `dirfd`; -1 with *err set on failure.
int OpenBeneath(void* ctx, int dirfd, const char* path, uint64_t flags, uint64_t mode,
                uint32_t* err) {
  struct open_how how = {};
  how.flags = flags | O_CLOEXEC;
  how.mode = (flags & O_CREAT) ? mode : 0;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  for (int attempt = 0;; ++attempt) {
    if (ShouldStop(ctx)) {  // the timeout's one signal may have come already
      *err = kEintr;
      return -1;
    }
    long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    if (fd >= 0) return static_cast<int>(fd);
    int e = errno;
    if (e == EINTR) continue;
    // EAGAIN: a concurrent rename raced the walk; the kernel asks for a retry.
    if (e == EAGAIN && attempt < 8) continue;
    *err = e == EXDEV ? kEnotcapable : HostErrno(e);
    return -1;
  }
}

class ScopedFd {
 public:
  explicit ScopedFd(int fd = -1) : fd_(fd) {}
  ~ScopedFd() {
    if (fd_ >= 0) close(fd_);
  }
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  void reset(int fd) {
    if (fd_ >= 0) close(fd_);
    fd_ = fd;
  }
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

// Copies a guest path out of memory. Embedded NULs would silently shorten
// the path the kernel sees, so they are refused.
uint32_t ReadPath(void* ctx, uint32_t ptr, uint32_t len, std::string* out) {
  if (len >= PATH_MAX) return kEnametoolong;
  const uint8_t* p = GuestPtr(Exec(ctx), ptr, len);
  if (p == nullptr) return kEfault;
  if (std::memchr(p, 0, len) != nullptr) return kEinval;
  out->assign(reinterpret_cast<const char*>(p), len);
  return kSuccess;
}

// The host fd of a guest directory fd holding `rights`.
uint32_t LookupDir(void* ctx, uint32_t fd, uint64_t rights, FdEntry** out) {
  WasiCtxImpl* w = Wasi(ctx);
  FdEntry* e = w == nullptr ? nullptr : w->Get(fd);
  if (e == nullptr) return kEbadf;
  if (e->kind != FdKind::kHost || e->filetype != kFtDirectory) return kEnotdir;
  if (!e->has(rights)) return kEnotcapable;
  *out = e;
  return kSuccess;
}

// The directory that holds a path's last component, opened beneath the
// root, and that component. name() keeps trailing slashes: the *at calls
// then insist on a directory without following a final symlink.
class Parent {
 public:
  uint32_t Open(void* ctx, int root, const std::string& path) {
    dir_.reset(-1);
    if (path.empty()) return kEnoent;
    if (path[0] == '/') return kEnotcapable;
    size_t end = path.size();
    while (end > 0 && path[end - 1] == '/') --end;
    size_t slash = path.rfind('/', end - 1);
    prefix_len_ = slash == std::string::npos ? 0 : slash + 1;
    name_ = path.c_str() + prefix_len_;
    base_ = std::string_view(path).substr(prefix_len_, end - prefix_len_);
    if (prefix_len_ == 0) {
      fd_ = root;
      return kSuccess;
    }
    std::string dir = path.substr(0, prefix_len_);
    uint32_t err;
    int fd = OpenBeneath(ctx, root, dir.c_str(), O_PATH | O_DIRECTORY, 0, &err);
    if (fd < 0) return err;
    dir_.reset(fd);
    fd_ = fd;
    return kSuccess;
  }
  int fd() const { return fd_; }
  const char* name() const { return name_; }
  std::string_view base() const { return base_; }
  size_t prefix_len() const { return prefix_len_; }
  bool trailing_slash() const { return std::strlen(name_) != base_.size(); }

 private:
  ScopedFd dir_;
  int fd_ = -1;
  const char* name_ = "";
  std::string_view base_;
  size_t prefix_len_ = 0;
};

uint32_t PathCreateDirectory(void* ctx, uint32_t fd, uint32_t path_ptr, uint32_t path_len) {
  return Guarded([&]() -> uint32_t {
    FdEntry* e;
    if (uint32_t err = LookupDir(ctx, fd, kRightPathCreateDirectory, &e)) return err;
    std::string path;
    if (uint32_t err = ReadPath(ctx, path_ptr, path_len, &path)) return err;
    Parent p;
    if (uint32_t err = p.Open(ctx, e->host_fd, path)) return err;
    return ErrnoOf(Retry(ctx, [&] { return mkdirat(p.fd(), p.name(), 0777); }));
  });
}

// unlinkat with `flags` (0 or AT_REMOVEDIR).
uint32_t Remove(void* ctx, uint32_t fd, uint64_t right, uint32_t path_ptr, uint32_t path_len,
                int flags) {
  return Guarded([&]() -> uint32_t {
    FdEntry* e;
    if (uint32_t err = LookupDir(ctx, fd, right, &e)) return err;
    std::string path;
    if (uint32_t err = ReadPath(ctx, path_ptr, path_len, &path)) return err;
    Parent p;
    if (uint32_t err = p.Open(ctx, e->host_fd, path)) return err;
    return ErrnoOf(Retry(ctx, [&] { return unlinkat(p.fd(), p.name(), flags); }));
  });
}

uint32_t PathRemoveDirectory(void* ctx, uint32_t fd, uint32_t path_ptr, uint32_t path_len) {
  return Remove(ctx, fd, kRightPathRemoveDirectory, path_ptr, path_len, AT_REMOVEDIR);
}

uint32_t PathUnlinkFile(void* ctx, uint32_t fd, uint32_t path_ptr, uint32_t path_len) {
  return Remove(ctx, fd, kRightPathUnlinkFile, path_ptr, path_len, 0);
}

// Opens the target of a path itself (O_PATH), following a final symlink
// only when asked; the walk stays beneath the root either way.
uint32_t OpenTarget(void* ctx, uint32_t fd, uint64_t right, uint32_t lookup_flags,
                    uint32_t path_ptr, uint32_t path_len, ScopedFd* out) {
  FdEntry* e;
  if (uint32_t err = LookupDir(ctx, fd, right, &e)) return err;
  std::string path;
  if (uint32_t err = ReadPath(ctx, path_ptr, path_len, &path)) return err;
  uint64_t flags = O_PATH | ((lookup_flags & kLookupSymlinkFollow) ? 0 : O_NOFOLLOW);
  uint32_t err;
  int target = OpenBeneath(ctx, e->host_fd, path.c_str(), flags, 0, &err);
  if (target < 0) return err;
  out->reset(target);
  return kSuccess;
}

uint32_t PathFilestatGet(void* ctx, uint32_t fd, uint32_t flags, uint32_t path_ptr,
                         uint32_t path_len, uint32_t buf_ptr) {
  return Guarded([&]() -> uint32_t {
    uint8_t* out = GuestPtr(Exec(ctx), buf_ptr, kFilestatSize);
    if (out == nullptr) return kEfault;
    ScopedFd target;
    if (uint32_t err =
            OpenTarget(ctx, fd, kRightPathFilestatGet, flags, path_ptr, path_len, &target)) {
      return err;
    }
    struct stat st;
    if (fstat(target.get(), &st) != 0) return HostErrno(errno);
    StoreFilestat(out, &st);
    return kSuccess;
  });
}

uint32_t PathFilestatSetTimes(void* ctx, uint32_t fd, uint32_t flags, uint32_t path_ptr,
                              uint32_t path_len, uint64_t atim, uint64_t mtim, uint32_t fst) {
  return Guarded([&]() -> uint32_t {
    struct timespec ts[2];
    if (uint32_t err = MakeTimes(atim, mtim, fst, ts)) return err;
    ScopedFd target;
    if (uint32_t err =
            OpenTarget(ctx, fd, kRightPathFilestatSetTimes, flags, path_ptr, path_len, &target)) {
      return err;
    }
    int at = AT_EMPTY_PATH | ((flags & kLookupSymlinkFollow) ? 0 : AT_SYMLINK_NOFOLLOW);
    return ErrnoOf(Retry(ctx, [&] { return utimensat(target.get(), "", ts, at); }));
  });
}

uint32_t PathReadlink(void* ctx, uint32_t fd, uint32_t path_ptr, uint32_t path_len,
                      uint32_t buf_ptr, uint32_t buf_len, uint32_t used_ptr) {
  return Guarded([&]() -> uint32_t {
    uint8_t* buf = GuestPtr(Exec(ctx), buf_ptr, buf_len);
    uint8_t* used = GuestPtr(Exec(ctx), used_ptr, 4);
    if (buf == nullptr || used == nullptr) return kEfault;
    ScopedFd target;
    if (uint32_t err = OpenTarget(ctx, fd, kRightPathReadlink, 0, path_ptr, path_len, &target)) {
      return err;
    }
    // Like POSIX readlink, a target longer than the buffer is cut short.
    PrepareGuestWrite(buf, buf_len);
    ssize_t n = readlinkat(target.get(), "", reinterpret_cast<char*>(buf), buf_len);
    if (n < 0) {
      // On an O_PATH fd that is no symlink the kernel says ENOENT; POSIX
      // says EINVAL.
      return errno == ENOENT ? kEinval : HostErrno(errno);
    }
    Store<uint32_t>(used, static_cast<uint32_t>(n));
    return kSuccess;
  });
}

uint32_t PathSymlink(void* ctx, uint32_t old_ptr, uint32_t old_len, uint32_t fd, uint32_t new_ptr,
                     uint32_t new_len) {
  return Guarded([&]() -> uint32_t {
    FdEntry* e;
    if (uint32_t err = LookupDir(ctx, fd, kRightPathSymlink, &e)) return err;
    std::string target, path;
    if (uint32_t err = ReadPath(ctx, old_ptr, old_len, &target)) return err;
    if (uint32_t err = ReadPath(ctx, new_ptr, new_len, &path)) return err;
    // An absolute target names a host path, never a sandbox one (see wasi.h).
    if (!target.empty() && target[0] == '/') return kEnotcapable;
    Parent p;
    if (uint32_t err = p.Open(ctx, e->host_fd, path)) return err;
    // "name/" can only ever name a directory: when a non-directory already
    // sits there, POSIX path resolution fails with ENOTDIR (Linux's
    // symlinkat says EEXIST).
    if (p.trailing_slash()) {
      std::string base(p.base());
      struct stat st;
      if (fstatat(p.fd(), base.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode)) {
        return kEnotdir;
      }
    }
    return ErrnoOf(Retry(ctx, [&] { return symlinkat(target.c_str(), p.fd(), p.name()); }));
  });
}

// Resolves the final symlinks of `path` by hand, each hop confined beneath
// the root, leaving `p` on the directory and name of the real file. linkat
// cannot do this itself: AT_SYMLINK_FOLLOW would follow the link unconfined
// and AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH.
uint32_t ResolveFinalSymlinks(void* ctx, int root, std::string* path, Parent* p) {
  std::string target(PATH_MAX, '\0');
  for (int hop = 0; hop <= kMaxSymlinkHops; ++hop) {
    if (uint32_t err = p->Open(ctx, root, *path)) return err;
    std::string base(p->base());
    if (base == "." || base == "..") return kSuccess;
    ssize_t n = readlinkat(p->fd(), base.c_str(), target.data(), target.size());
    if (n < 0) return (errno == EINVAL || errno == ENOENT) ? kSuccess : HostErrno(errno);
    if (n == 0) return kEnoent;
    if (target[0] == '/') return kEnotcapable;
    // The link's own directory plus its relative target; the next Open walks
    // it beneath the root.
    *path = path->substr(0, p->prefix_len()) + target.substr(0, static_cast<size_t>(n));
  }
  return kEloop;
}

uint32_t PathLink(void* ctx, uint32_t old_fd, uint32_t old_flags, uint32_t old_ptr,
                  uint32_t old_len, uint32_t new_fd, uint32_t new_ptr, uint32_t new_len) {
  return Guarded([&]() -> uint32_t {
    FdEntry *from, *to;
    if (uint32_t err = LookupDir(ctx, old_fd, kRightPathLinkSource, &from)) return err;
    if (uint32_t err = LookupDir(ctx, new_fd, kRightPathLinkTarget, &to)) return err;
    std::string old_path, new_path;
    if (uint32_t err = ReadPath(ctx, old_ptr, old_len, &old_path)) return err;
    if (uint32_t err = ReadPath(ctx, new_ptr, new_len, &new_path)) return err;
    Parent src, dst;
    if (old_flags & kLookupSymlinkFollow) {
      if (uint32_t err = ResolveFinalSymlinks(ctx, from->host_fd, &old_path, &src)) return err;
    } else if (uint32_t err = src.Open(ctx, from->host_fd, old_path)) {
      return err;
    }
    // linkat walks the source name in full; a final "..", or a trailing
    // slash that forces a symlink to be followed, could only name a
    // directory, which cannot be hard-linked anyway.
    std::string base(src.base());
    if (base == "." || base == "..") return kEperm;
    if (src.trailing_slash()) {
      struct stat st;
      if (fstatat(src.fd(), base.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return HostErrno(errno);
      return S_ISDIR(st.st_mode) ? kEperm : kEnotdir;
    }
    if (uint32_t err = dst.Open(ctx, to->host_fd, new_path)) return err;
    return ErrnoOf(
        Retry(ctx, [&] { return linkat(src.fd(), base.c_str(), dst.fd(), dst.name(), 0); }));
  });
}

uint32_t PathRename(void* ctx, uint32_t old_fd, uint32_t old_ptr, uint32_t old_len, uint32_t new_fd,
                    uint32_t new_ptr, uint32_t new_len) {
  return Guarded([&]() -> uint32_t {
    FdEntry *from, *to;
    if (uint32_t err = LookupDir(ctx, old_fd, kRightPathRenameSource, &from)) return err;
    if (uint32_t err = LookupDir(ctx, new_fd, kRightPathRenameTarget, &to)) return err;
    std::string old_path, new_path;
    if (uint32_t err = ReadPath(ctx, old_ptr, old_len, &old_path)) return err;
    if (uint32_t err = ReadPath(ctx, new_ptr, new_len, &new_path)) return err;
    Parent src, dst;
    if (uint32_t err = src.Open(ctx, from->host_fd, old_path)) return err;
    if (uint32_t err = dst.Open(ctx, to->host_fd, new_path)) return err;
    return ErrnoOf(
        Retry(ctx, [&] { return renameat(src.fd(), src.name(), dst.fd(), dst.name()); }));
  });
}

uint32_t PathOpen(void* ctx, uint32_t fd, uint32_t dirflags, uint32_t path_ptr, uint32_t path_len,
                  uint32_t oflags, uint64_t rights_base, uint64_t rights_inheriting,
                  uint32_t fdflags, uint32_t fd_out_ptr) {
  return Guarded([&]() -> uint32_t {
    if (oflags & ~uint32_t{kOflagCreat | kOflagDirectory | kOflagExcl | kOflagTrunc}) {
      return kEinval;
    }
    if (fdflags > 0x1f) return kEinval;
    uint64_t needed = kRightPathOpen | ((oflags & kOflagCreat) ? kRightPathCreateFile : 0) |
                      ((oflags & kOflagTrunc) ? kRightPathFilestatSetSize : 0);
    FdEntry* dir;
    if (uint32_t err = LookupDir(ctx, fd, needed, &dir)) return err;
    uint8_t* fd_out = GuestPtr(Exec(ctx), fd_out_ptr, 4);
    if (fd_out == nullptr) return kEfault;
    std::string path;
    if (uint32_t err = ReadPath(ctx, path_ptr, path_len, &path)) return err;

    // A new fd gets what it asks for within what the directory passes on
    // (wasi-libc asks for everything and keeps what it gets).
    uint64_t base = rights_base & dir->rights_inheriting;
    uint64_t inheriting = rights_inheriting & dir->rights_inheriting;
    // Only rights that need a writable host fd open one for writing:
    // fd_datasync works on a read-only fd, and a directory fd carries it
    // (reopening a directory with its own rights must not ask for write
    // access). fd_write on a directory fails with EISDIR, with or without
    // OFLAGS_DIRECTORY, as POSIX open() does; fd_allocate and
    // fd_filestat_set_size only make sense for files, so OFLAGS_DIRECTORY
    // ignores them.
    bool read = base & (kRightFdRead | kRightFdReaddir);
    bool write = (base & kRightFdWrite) || (!(oflags & kOflagDirectory) &&
                                            (base & (kRightFdAllocate | kRightFdFilestatSetSize)));
    uint64_t flags = O_NOCTTY;
    flags |= write ? (read ? O_RDWR : O_WRONLY) : O_RDONLY;
    if (oflags & kOflagDirectory) flags |= O_DIRECTORY;
    if (oflags & kOflagCreat) flags |= O_CREAT;
    if (oflags & kOflagExcl) flags |= O_EXCL;
    if (oflags & kOflagTrunc) flags |= O_TRUNC;
    if (!(dirflags & kLookupSymlinkFollow)) flags |= O_NOFOLLOW;
    if (fdflags & kFdflagAppend) flags |= O_APPEND;
    if (fdflags & kFdflagDsync) flags |= O_DSYNC;
    // Always non-blocking on the host: opening a FIFO then never waits for
    // its other end (a read-only open succeeds at once, a write-only one
    // without a reader fails with ENXIO), nor an open for a file lease to be
    // broken; and reads and writes that must wait do so in wasi_wait.h,
    // bounded by the deadline. The guest's FDFLAGS_NONBLOCK is kept in
    // fdflags and decides whether such a wait is EAGAIN instead.
    flags |= O_NONBLOCK;
    if (fdflags & kFdflagRsync) flags |= O_RSYNC;
    if (fdflags & kFdflagSync) flags |= O_SYNC;

    uint32_t err;
    int host = OpenBeneath(ctx, dir->host_fd, path.c_str(), flags, 0666, &err);
    if (host < 0) return err;
    ScopedFd guard(host);
    struct stat st;
    if (fstat(host, &st) != 0) return HostErrno(errno);
    FdEntry entry;
    entry.kind = FdKind::kHost;
    entry.host_fd = host;
    entry.owned = true;
    entry.filetype = DescriptorFiletype(st.st_mode);
    entry.fdflags = static_cast<uint16_t>(fdflags);
    if (entry.filetype == kFtDirectory) {
      entry.rights_base = base & kDirRights;
    } else if (entry.filetype == kFtRegularFile || entry.filetype == kFtBlockDevice) {
      entry.rights_base = base & kFileRights;
    } else {
      entry.rights_base = base & kStreamRights;
    }
    entry.rights_inheriting = inheriting;
    uint32_t new_fd;
    if (uint32_t alloc_err = Wasi(ctx)->Allocate(entry, &new_fd)) return alloc_err;
    guard.release();  // the table owns it now
    Store<uint32_t>(fd_out, new_fd);
    return kSuccess;
  });
}

}  // namespace

void RegisterWasiPath(HostRegistry& r) {
  AddFn(r, "path_create_directory", "i:iii", PathCreateDirectory);
  AddFn(r, "path_filestat_get", "i:iiiii", PathFilestatGet);
  AddFn(r, "path_filestat_set_times", "i:iiiiIIi", PathFilestatSetTimes);
  AddFn(r, "path_link", "i:iiiiiii", PathLink);
  AddFn(r, "path_open", "i:iiiiiIIii", PathOpen);
  AddFn(r, "path_readlink", "i:iiiiii", PathReadlink);
  AddFn(r, "path_remove_directory", "i:iii", PathRemoveDirectory);
  AddFn(r, "path_rename", "i:iiiiii", PathRename);
  AddFn(r, "path_symlink", "i:iiiii", PathSymlink);
  AddFn(r, "path_unlink_file", "i:iii", PathUnlinkFile);
}

}  // namespace aether::wasm::wasi
