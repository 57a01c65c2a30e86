// fd_* functions: reads, writes and metadata of open descriptors.

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>

#include "wasm/internal/memory_pool.h"
#include "wasm/wasi/wasi_internal.h"
#include "wasm/wasi/wasi_wait.h"

namespace aether::wasm::wasi {

uint32_t MakeTimes(uint64_t atim, uint64_t mtim, uint32_t fst, struct timespec ts[2]) {
  if (fst & ~uint32_t{kFstAtim | kFstAtimNow | kFstMtim | kFstMtimNow}) return kEinval;
  if ((fst & kFstAtim) && (fst & kFstAtimNow)) return kEinval;
  if ((fst & kFstMtim) && (fst & kFstMtimNow)) return kEinval;
  auto one = [](uint64_t ns, bool set, bool now, struct timespec* t) {
    if (now) {
      *t = {0, UTIME_NOW};
    } else if (set) {
      *t = {static_cast<time_t>(ns / 1000000000ull), static_cast<long>(ns % 1000000000ull)};
    } else {
      *t = {0, UTIME_OMIT};
    }
  };
  one(atim, fst & kFstAtim, fst & kFstAtimNow, &ts[0]);
  one(mtim, fst & kFstMtim, fst & kFstMtimNow, &ts[1]);
  return kSuccess;
}

namespace {

// What one fd_read / fd_write / fd_pread / fd_pwrite moves at most; more
// is a short count, which every libc continues from. Overlapping iovecs
// can name up to IOV_MAX x 4 GiB; this keeps the bytes one call copies, and
// the time it may run past the deadline in an uninterruptible file read,
// small, and every count within the u32 the guest gets back.
constexpr uint64_t kMaxIoBytes = 16 << 20;
// What one call of an output_sink gets at most: a write of several iovecs
// is joined into one piece (the sink sees a line as the guest wrote it),
// in a buffer of this size at most.
constexpr uint64_t kMaxSinkBytes = 64 << 10;

// A guest iovec array translated to host pointers; every buffer is bounds
// checked before any byte moves, and the buffers are cut to `max` bytes in
// all. Small arrays stay on the stack.
class Iovecs {
 public:
  uint32_t Load(ExecContext* ctx, uint32_t iovs_ptr, uint32_t count, uint64_t max = kMaxIoBytes) {
    if (count > IOV_MAX) return kEinval;
    const uint8_t* raw = GuestPtr(ctx, iovs_ptr, static_cast<uint64_t>(count) * kIovecSize);
    if (raw == nullptr) return kEfault;
    if (count > kInline) {
      heap_.resize(count);
      vec_ = heap_.data();
    }
    for (uint32_t i = 0; i < count; ++i) {
      uint32_t buf = wasi::Load<uint32_t>(raw + i * kIovecSize);
      uint32_t len = wasi::Load<uint32_t>(raw + i * kIovecSize + 4);
      uint8_t* p = GuestPtr(ctx, buf, len);
      if (p == nullptr) return kEfault;
      uint64_t take = std::min<uint64_t>(len, max - total_);
      if (take == 0) continue;
      vec_[count_++] = {p, take};
      total_ += take;
    }
    return kSuccess;
  }
  struct iovec* data() {
    return vec_;
  }
  // Before a system call reads into the buffers (memory_pool.h).
  void PrepareForWrite() {
    for (uint32_t i = 0; i < count_; ++i) {
      PrepareGuestWrite(static_cast<uint8_t*>(vec_[i].iov_base), vec_[i].iov_len);
    }
  }
  int count() const { return static_cast<int>(count_); }
  uint64_t total() const { return total_; }

 private:
  static constexpr uint32_t kInline = 8;
  struct iovec inline_[kInline];
  std::vector<struct iovec> heap_;
  struct iovec* vec_ = inline_;
  uint32_t count_ = 0;
  uint64_t total_ = 0;
};

bool IsCapture(const FdEntry& e) { return e.kind != FdKind::kHost; }

// One sink call per fd_write, as the guest wrote it (Load cut it to
// kMaxSinkBytes): a single buffer is passed as is, several are joined in a
// buffer the context keeps for the next write.
void WriteToSink(WasiCtxImpl& w, int fd, Iovecs& v) {
  if (v.total() == 0) return;
  if (v.count() == 1) {
    w.output_sink(fd, {static_cast<const char*>(v.data()[0].iov_base), v.data()[0].iov_len});
    return;
  }
  std::string& joined = w.sink_scratch;
  joined.clear();
  for (int i = 0; i < v.count(); ++i) {
    joined.append(static_cast<const char*>(v.data()[i].iov_base), v.data()[i].iov_len);
  }
  w.output_sink(fd, joined);
}

// Appends to a captured stream up to the per-execution cap, checked before
// each buffer is copied: a write that crosses it is cut short at the cap,
// one that starts there is EFBIG.
uint32_t WriteToCapture(WasiCtxImpl& w, std::string& stream, Iovecs& v, uint64_t* done) {
  uint64_t room = stream.size() < w.max_output ? w.max_output - stream.size() : 0;
  if (room == 0 && v.total() > 0) return kEfbig;
  *done = 0;
  for (int i = 0; i < v.count() && *done < room; ++i) {
    size_t n = std::min<uint64_t>(v.data()[i].iov_len, room - *done);
    stream.append(static_cast<const char*>(v.data()[i].iov_base), n);
    *done += n;
  }
  return kSuccess;
}

// readv / writev of a host fd; one that may wait for another party goes
// through wasi_wait.h, so the wait ends at the deadline.
uint32_t HostIo(void* ctx, const FdEntry& e, bool write, Iovecs& v, uint64_t* done) {
  if (!write) v.PrepareForWrite();
  if (MayBlock(e)) return StreamIo(ctx, e, write, v.data(), v.count(), done);
  ssize_t n = Retry(ctx, [&] {
    return write ? writev(e.host_fd, v.data(), v.count()) : readv(e.host_fd, v.data(), v.count());
  });
  if (n < 0) return HostErrno(errno);
  *done = static_cast<uint64_t>(n);
  return kSuccess;
}

uint32_t FdRead(void* ctx, uint32_t fd, uint32_t iovs, uint32_t iovs_len, uint32_t nread_ptr) {
  return Guarded([&]() -> uint32_t {
    WasiCtxImpl* w = Wasi(ctx);
    FdEntry* e = w == nullptr ? nullptr : w->Get(fd);
    if (e == nullptr) return kEbadf;
    if (e->filetype == kFtDirectory) return kEisdir;
    if (!e->has(kRightFdRead)) return kEbadf;  // POSIX: read on a write-only fd
    Iovecs v;
    if (uint32_t err = v.Load(Exec(ctx), iovs, iovs_len)) return err;
    uint8_t* out = GuestPtr(Exec(ctx), nread_ptr, 4);
    if (out == nullptr) return kEfault;
    if (e->kind == FdKind::kStdinCapture) {
      size_t done = 0;
      for (int i = 0; i < v.count() && w->stdin_pos < w->stdin_data.size(); ++i) {
        size_t n = std::min(v.data()[i].iov_len, w->stdin_data.size() - w->stdin_pos);
        std::memcpy(v.data()[i].iov_base, w->stdin_data.data() + w->stdin_pos, n);
        w->stdin_pos += n;
        done += n;
      }
      Store<uint32_t>(out, static_cast<uint32_t>(done));
      return kSuccess;
    }
    uint64_t done = 0;
    if (uint32_t err = HostIo(ctx, *e, false, v, &done)) return err;
    Store<uint32_t>(out, static_cast<uint32_t>(done));
    return kSuccess;
  });
}

uint32_t FdWrite(void* ctx, uint32_t fd, uint32_t iovs, uint32_t iovs_len, uint32_t nwritten_ptr) {
  return Guarded([&]() -> uint32_t {
    WasiCtxImpl* w = Wasi(ctx);
    FdEntry* e = w == nullptr ? nullptr : w->Get(fd);
    if (e == nullptr) return kEbadf;
    if (e->filetype == kFtDirectory) return kEisdir;
    if (!e->has(kRightFdWrite)) return kEbadf;  // POSIX: write on a read-only fd
    bool to_sink = IsCapture(*e) && w->output_sink;
    Iovecs v;
    if (uint32_t err = v.Load(Exec(ctx), iovs, iovs_len, to_sink ? kMaxSinkBytes : kMaxIoBytes)) {
      return err;
    }
    uint8_t* out = GuestPtr(Exec(ctx), nwritten_ptr, 4);
    if (out == nullptr) return kEfault;
    uint64_t done = 0;
    if (to_sink) {
      WriteToSink(*w, e->kind == FdKind::kStdoutCapture ? 1 : 2, v);
      done = v.total();
    } else if (IsCapture(*e)) {
      std::string& stream = e->kind == FdKind::kStdoutCapture ? w->stdout_data() : w->stderr_data();
      if (uint32_t err = WriteToCapture(*w, stream, v, &done)) return err;
    } else if (uint32_t err = HostIo(ctx, *e, true, v, &done)) {
      return err;
    }
    Store<uint32_t>(out, static_cast<uint32_t>(done));
    return kSuccess;
  });
}

// fd_pread / fd_pwrite: `write` selects the direction.
uint32_t Positioned(void* ctx, bool write, uint32_t fd, uint32_t iovs, uint32_t iovs_len,
                    uint64_t offset, uint32_t result_ptr) {
  return Guarded([&]() -> uint32_t {
    FdEntry* e;
    if (uint32_t err = Lookup(ctx, fd, kRightFdSeek | (write ? kRightFdWrite : kRightFdRead), &e)) {
      return err;
    }
    if (IsCapture(*e)) return kEspipe;
    if (offset > static_cast<uint64_t>(INT64_MAX)) return kEinval;
    Iovecs v;
    if (uint32_t err = v.Load(Exec(ctx), iovs, iovs_len)) return err;
    uint8_t* out = GuestPtr(Exec(ctx), result_ptr, 4);
    if (out == nullptr) return kEfault;
    off_t off = static_cast<off_t>(offset);
    if (!write) v.PrepareForWrite();
    ssize_t n = Retry(ctx, [&] {
      return write ? pwritev(e->host_fd, v.data(), v.count(), off)
                   : preadv(e->host_fd, v.data(), v.count(), off);
    });
    if (n < 0) return HostErrno(errno);
    Store<uint32_t>(out, static_cast<uint32_t>(n));
    return kSuccess;
  });
}

uint32_t FdPread(void* ctx, uint32_t fd, uint32_t iovs, uint32_t n, uint64_t off, uint32_t out) {
  return Positioned(ctx, false, fd, iovs, n, off, out);
}
uint32_t FdPwrite(void* ctx, uint32_t fd, uint32_t iovs, uint32_t n, uint64_t off, uint32_t out) {
  return Positioned(ctx, true, fd, iovs, n, off, out);
}

uint32_t FdSeek(void* ctx, uint32_t fd, uint64_t offset, uint32_t whence, uint32_t result_ptr) {
  int how;
  switch (whence) {
    case 0:
      how = SEEK_SET;
      break;
    case 1:
      how = SEEK_CUR;
      break;
    case 2:
      how = SEEK_END;
      break;
    default:
      return kEinval;
  }
  // Asking for the current position needs only fd_tell (witx).
  uint64_t right = (how == SEEK_CUR && offset == 0) ? kRightFdTell : kRightFdSeek;
  WasiCtxImpl* w = Wasi(ctx);
  FdEntry* e = w == nullptr ? nullptr : w->Get(fd);
  if (e == nullptr) return kEbadf;
  if (IsCapture(*e)) return kEspipe;
  if (!e->has(right) && !e->has(kRightFdSeek)) return kEnotcapable;
  uint8_t* out = GuestPtr(Exec(ctx), result_ptr, 8);
  if (out == nullptr) return kEfault;
  off_t pos = lseek(e->host_fd, static_cast<off_t>(offset), how);
  if (pos < 0) return HostErrno(errno);
  Store<uint64_t>(out, static_cast<uint64_t>(pos));
  return kSuccess;
}

uint32_t FdTell(void* ctx, uint32_t fd, uint32_t result_ptr) {
  return FdSeek(ctx, fd, 0, 1, result_ptr);
}

uint32_t FdClose(void* ctx, uint32_t fd) {
  WasiCtxImpl* w = Wasi(ctx);
  if (w == nullptr || w->Get(fd) == nullptr) return kEbadf;
  w->Release(fd);
  return kSuccess;
}

uint32_t FdRenumber(void* ctx, uint32_t from, uint32_t to) {
  WasiCtxImpl* w = Wasi(ctx);
  if (w == nullptr || w->Get(from) == nullptr || w->Get(to) == nullptr) return kEbadf;
  if (from == to) return kSuccess;
  FdEntry& dst = w->fds[to];
  if (dst.kind == FdKind::kHost && dst.owned) close(dst.host_fd);
  dst = w->fds[from];
  w->fds[from] = FdEntry{};  // freed without a close: its host fd now belongs to `to`
  w->TrimFree();
  return kSuccess;
}

uint32_t FdFdstatGet(void* ctx, uint32_t fd, uint32_t buf_ptr) {
  WasiCtxImpl* w = Wasi(ctx);
  FdEntry* e = w == nullptr ? nullptr : w->Get(fd);
  if (e == nullptr) return kEbadf;
  uint8_t* out = GuestPtr(Exec(ctx), buf_ptr, kFdstatSize);
  if (out == nullptr) return kEfault;
  std::memset(out, 0, kFdstatSize);
  out[0] = e->filetype;
  Store<uint16_t>(out + 2, e->fdflags);
  Store<uint64_t>(out + 8, e->rights_base);
  Store<uint64_t>(out + 16, e->rights_inheriting);
  return kSuccess;
}

uint32_t FdFdstatSetFlags(void* ctx, uint32_t fd, uint32_t flags) {
  FdEntry* e;
  if (uint32_t err = Lookup(ctx, fd, kRightFdFdstatSetFlags, &e)) return err;
  if (flags > 0x1f) return kEinval;
  // Linux cannot change the sync flags of an open file.
  constexpr uint16_t kSyncFlags = kFdflagDsync | kFdflagRsync | kFdflagSync;
  if ((flags & kSyncFlags) != (e->fdflags & kSyncFlags)) return kEnotsup;
  if (flags == e->fdflags) return kSuccess;
  if (e->kind == FdKind::kHost) {
    // A borrowed fd shares its open file description with the engine: making
    // the engine's own stdout non-blocking would break its logging.
    if (!e->owned) return kEnotsup;
    // The host fd stays O_NONBLOCK whatever the guest asks (path_open):
    // FDFLAGS_NONBLOCK only changes whether a wait becomes EAGAIN
    // (wasi_wait.h).
    int fl = fcntl(e->host_fd, F_GETFL);
    if (fl < 0) return HostErrno(errno);
    fl = (fl & ~O_APPEND) | O_NONBLOCK;
    if (flags & kFdflagAppend) fl |= O_APPEND;
    if (fcntl(e->host_fd, F_SETFL, fl) != 0) return HostErrno(errno);
  }
  e->fdflags = static_cast<uint16_t>(flags);
  return kSuccess;
}

uint32_t FdFdstatSetRights(void* ctx, uint32_t fd, uint64_t base, uint64_t inheriting) {
  WasiCtxImpl* w = Wasi(ctx);
  FdEntry* e = w == nullptr ? nullptr : w->Get(fd);
  if (e == nullptr) return kEbadf;
  // Rights only ever shrink.
  if ((base & ~e->rights_base) || (inheriting & ~e->rights_inheriting)) return kEnotcapable;
  e->rights_base = base;
  e->rights_inheriting = inheriting;
  return kSuccess;
}

uint32_t FdFilestatGet(void* ctx, uint32_t fd, uint32_t buf_ptr) {
  FdEntry* e;
  if (uint32_t err = Lookup(ctx, fd, kRightFdFilestatGet, &e)) return err;
  uint8_t* out = GuestPtr(Exec(ctx), buf_ptr, kFilestatSize);
  if (out == nullptr) return kEfault;
  if (IsCapture(*e)) {
    std::memset(out, 0, kFilestatSize);
    out[16] = kFtCharDevice;
    Store<uint64_t>(out + 24, 1);  // nlink
    return kSuccess;
  }
  struct stat st;
  if (fstat(e->host_fd, &st) != 0) return HostErrno(errno);
  StoreFilestat(out, &st);
  out[16] = e->filetype;  // what the guest was given (an inherited socket is a stream)
  return kSuccess;
}

uint32_t FdFilestatSetSize(void* ctx, uint32_t fd, uint64_t size) {
  FdEntry* e;
  if (uint32_t err = Lookup(ctx, fd, kRightFdFilestatSetSize, &e)) return err;
  if (IsCapture(*e)) return kEinval;
  if (size > static_cast<uint64_t>(INT64_MAX)) return kEfbig;
  if (Retry(ctx, [&] { return ftruncate(e->host_fd, static_cast<off_t>(size)); }) != 0) {
    return HostErrno(errno);
  }
  return kSuccess;
}

uint32_t FdFilestatSetTimes(void* ctx, uint32_t fd, uint64_t atim, uint64_t mtim, uint32_t fst) {
  FdEntry* e;
  if (uint32_t err = Lookup(ctx, fd, kRightFdFilestatSetTimes, &e)) return err;
  struct timespec ts[2];
  if (uint32_t err = MakeTimes(atim, mtim, fst, ts)) return err;
  if (IsCapture(*e)) return kSuccess;  // nothing on disk to stamp
  if (Retry(ctx, [&] { return futimens(e->host_fd, ts); }) != 0) return HostErrno(errno);
  return kSuccess;
}

uint32_t FdAdvise(void* ctx, uint32_t fd, uint64_t offset, uint64_t len, uint32_t advice) {
  static constexpr int kAdvice[] = {POSIX_FADV_NORMAL,   POSIX_FADV_SEQUENTIAL, POSIX_FADV_RANDOM,
                                    POSIX_FADV_WILLNEED, POSIX_FADV_DONTNEED,   POSIX_FADV_NOREUSE};
  if (advice > 5) return kEinval;
  FdEntry* e;
  if (uint32_t err = Lookup(ctx, fd, kRightFdAdvise, &e)) return err;
  if (IsCapture(*e)) return kEspipe;
  if (offset > static_cast<uint64_t>(INT64_MAX) || len > static_cast<uint64_t>(INT64_MAX)) {
    return kEinval;
  }
  int rc = posix_fadvise(e->host_fd, static_cast<off_t>(offset), static_cast<off_t>(len),
                         kAdvice[advice]);
  return rc == 0 ? kSuccess : HostErrno(rc);
}

uint32_t FdAllocate(void* ctx, uint32_t fd, uint64_t offset, uint64_t len) {
  FdEntry* e;
  if (uint32_t err = Lookup(ctx, fd, kRightFdAllocate, &e)) return err;
  if (IsCapture(*e)) return kEspipe;
  if (offset > static_cast<uint64_t>(INT64_MAX) ||
      len > static_cast<uint64_t>(INT64_MAX) - offset) {
    return kEfbig;
  }
  int rc = EINTR;
  while (rc == EINTR && !ShouldStop(ctx)) {
    rc = posix_fallocate(e->host_fd, static_cast<off_t>(offset), static_cast<off_t>(len));
  }
  return rc == 0 ? kSuccess : HostErrno(rc);
}

uint32_t Sync(void* ctx, uint32_t fd, uint64_t right, bool data_only) {
  FdEntry* e;
  if (uint32_t err = Lookup(ctx, fd, right, &e)) return err;
  if (IsCapture(*e)) return kEinval;  // like fsync on a pipe
  int rc = Retry(ctx, [&] { return data_only ? fdatasync(e->host_fd) : fsync(e->host_fd); });
  return rc == 0 ? kSuccess : HostErrno(errno);
}
uint32_t FdSync(void* ctx, uint32_t fd) { return Sync(ctx, fd, kRightFdSync, false); }
uint32_t FdDatasync(void* ctx, uint32_t fd) { return Sync(ctx, fd, kRightFdDatasync, true); }

uint32_t FdPrestatGet(void* ctx, uint32_t fd, uint32_t buf_ptr) {
  WasiCtxImpl* w = Wasi(ctx);
  FdEntry* e = w == nullptr ? nullptr : w->Get(fd);
  // wasi-libc scans fds from 3 until EBADF: a non-preopen must say EBADF.
  if (e == nullptr || e->preopen < 0) return kEbadf;
  uint8_t* out = GuestPtr(Exec(ctx), buf_ptr, kPrestatSize);
  if (out == nullptr) return kEfault;
  std::memset(out, 0, kPrestatSize);  // tag 0: directory
  Store<uint32_t>(out + 4, static_cast<uint32_t>(w->preopen_names[e->preopen].size()));
  return kSuccess;
}

uint32_t FdPrestatDirName(void* ctx, uint32_t fd, uint32_t path_ptr, uint32_t path_len) {
  WasiCtxImpl* w = Wasi(ctx);
  FdEntry* e = w == nullptr ? nullptr : w->Get(fd);
  if (e == nullptr || e->preopen < 0) return kEbadf;
  const std::string& name = w->preopen_names[e->preopen];
  if (path_len < name.size()) return kEnametoolong;
  uint8_t* out = GuestPtr(Exec(ctx), path_ptr, name.size());
  if (out == nullptr) return kEfault;
  std::memcpy(out, name.data(), name.size());
  return kSuccess;
}

// Entries come from getdents64; a dirent's d_next cookie is the host d_off,
// which lseek() on the directory accepts to resume right after that entry.
// The last entry may be cut off: wasi-libc then retries with a bigger buffer
// from the previous cookie.
uint32_t FdReaddir(void* ctx, uint32_t fd, uint32_t buf_ptr, uint32_t buf_len, uint64_t cookie,
                   uint32_t used_ptr) {
  return Guarded([&]() -> uint32_t {
    WasiCtxImpl* w = Wasi(ctx);
    FdEntry* e = w == nullptr ? nullptr : w->Get(fd);
    if (e == nullptr) return kEbadf;
    if (e->filetype != kFtDirectory || e->kind != FdKind::kHost) return kEnotdir;
    if (!e->has(kRightFdReaddir)) return kEnotcapable;
    uint8_t* buf = GuestPtr(Exec(ctx), buf_ptr, buf_len);
    uint8_t* used_out = GuestPtr(Exec(ctx), used_ptr, 4);
    if (buf == nullptr || used_out == nullptr) return kEfault;
    if (cookie > static_cast<uint64_t>(INT64_MAX)) return kEinval;
    if (lseek(e->host_fd, static_cast<off_t>(cookie), SEEK_SET) < 0) return HostErrno(errno);
    std::vector<char>& scratch = w->dirent_scratch;
    if (scratch.empty()) scratch.resize(16 << 10);
    uint32_t used = 0;
    while (used < buf_len) {
      long n = Retry(
          ctx, [&] { return syscall(SYS_getdents64, e->host_fd, scratch.data(), scratch.size()); });
      if (n < 0) return HostErrno(errno);
      if (n == 0) break;
      for (long pos = 0; pos < n && used < buf_len;) {
        const char* d = scratch.data() + pos;
        uint64_t ino = wasi::Load<uint64_t>(reinterpret_cast<const uint8_t*>(d));
        uint64_t off = wasi::Load<uint64_t>(reinterpret_cast<const uint8_t*>(d + 8));
        uint16_t reclen = wasi::Load<uint16_t>(reinterpret_cast<const uint8_t*>(d + 16));
        uint8_t dtype = static_cast<uint8_t>(d[18]);
        const char* name = d + 19;
        uint32_t namlen = static_cast<uint32_t>(strnlen(name, reclen - 19));
        pos += reclen;
        uint8_t head[kDirentSize] = {};
        Store<uint64_t>(head, off);
        Store<uint64_t>(head + 8, ino);
        Store<uint32_t>(head + 16, namlen);
        head[20] = dtype == DT_UNKNOWN ? uint8_t{kFtUnknown} : FiletypeOfMode(DTTOIF(dtype));
        uint32_t n1 = std::min<uint32_t>(kDirentSize, buf_len - used);
        std::memcpy(buf + used, head, n1);
        used += n1;
        uint32_t n2 = std::min<uint32_t>(namlen, buf_len - used);
        std::memcpy(buf + used, name, n2);
        used += n2;
      }
    }
    Store<uint32_t>(used_out, used);
    return kSuccess;
  });
}

}  // namespace

void RegisterWasiFd(HostRegistry& r) {
  AddFn(r, "fd_advise", "i:iIIi", FdAdvise);
  AddFn(r, "fd_allocate", "i:iII", FdAllocate);
  AddFn(r, "fd_close", "i:i", FdClose);
  AddFn(r, "fd_datasync", "i:i", FdDatasync);
  AddFn(r, "fd_fdstat_get", "i:ii", FdFdstatGet);
  AddFn(r, "fd_fdstat_set_flags", "i:ii", FdFdstatSetFlags);
  AddFn(r, "fd_fdstat_set_rights", "i:iII", FdFdstatSetRights);
  AddFn(r, "fd_filestat_get", "i:ii", FdFilestatGet);
  AddFn(r, "fd_filestat_set_size", "i:iI", FdFilestatSetSize);
  AddFn(r, "fd_filestat_set_times", "i:iIIi", FdFilestatSetTimes);
  AddFn(r, "fd_pread", "i:iiiIi", FdPread);
  AddFn(r, "fd_prestat_get", "i:ii", FdPrestatGet);
  AddFn(r, "fd_prestat_dir_name", "i:iii", FdPrestatDirName);
  AddFn(r, "fd_pwrite", "i:iiiIi", FdPwrite);
  AddFn(r, "fd_read", "i:iiii", FdRead);
  AddFn(r, "fd_readdir", "i:iiiIi", FdReaddir);
  AddFn(r, "fd_renumber", "i:ii", FdRenumber);
  AddFn(r, "fd_seek", "i:iIii", FdSeek);
  AddFn(r, "fd_sync", "i:i", FdSync);
  AddFn(r, "fd_tell", "i:ii", FdTell);
  AddFn(r, "fd_write", "i:iiii", FdWrite);
}

}  // namespace aether::wasm::wasi
