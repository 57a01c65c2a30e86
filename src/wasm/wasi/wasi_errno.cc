// Linux errno -> WASI errno. Every Linux errno has a row; the ones without a
// WASI twin go to the closest meaning a POSIX program would act on, and
// anything unknown becomes EIO.

#include <array>
#include <cerrno>

#include "wasm/wasi/wasi_internal.h"

namespace aether::wasm::wasi {
namespace {

struct Pair {
  int host;
  uint16_t wasi;
};

constexpr Pair kPairs[] = {
    // Same meaning on both sides.
    {E2BIG, 1},
    {EACCES, 2},
    {EADDRINUSE, 3},
    {EADDRNOTAVAIL, 4},
    {EAFNOSUPPORT, 5},
    {EAGAIN, 6},
    {EALREADY, 7},
    {EBADF, 8},
    {EBADMSG, 9},
    {EBUSY, 10},
    {ECANCELED, 11},
    {ECHILD, 12},
    {ECONNABORTED, 13},
    {ECONNREFUSED, 14},
    {ECONNRESET, 15},
    {EDEADLK, 16},
    {EDESTADDRREQ, 17},
    {EDOM, 18},
    {EDQUOT, 19},
    {EEXIST, 20},
    {EFAULT, 21},
    {EFBIG, 22},
    {EHOSTUNREACH, 23},
    {EIDRM, 24},
    {EILSEQ, 25},
    {EINPROGRESS, 26},
    {EINTR, 27},
    {EINVAL, 28},
    {EIO, 29},
    {EISCONN, 30},
    {EISDIR, 31},
    {ELOOP, 32},
    {EMFILE, 33},
    {EMLINK, 34},
    {EMSGSIZE, 35},
    {EMULTIHOP, 36},
    {ENAMETOOLONG, 37},
    {ENETDOWN, 38},
    {ENETRESET, 39},
    {ENETUNREACH, 40},
    {ENFILE, 41},
    {ENOBUFS, 42},
    {ENODEV, 43},
    {ENOENT, 44},
    {ENOEXEC, 45},
    {ENOLCK, 46},
    {ENOLINK, 47},
    {ENOMEM, 48},
    {ENOMSG, 49},
    {ENOPROTOOPT, 50},
    {ENOSPC, 51},
    {ENOSYS, 52},
    {ENOTCONN, 53},
    {ENOTDIR, 54},
    {ENOTEMPTY, 55},
    {ENOTRECOVERABLE, 56},
    {ENOTSOCK, 57},
    {ENOTSUP, 58},
    {ENOTTY, 59},
    {ENXIO, 60},
    {EOVERFLOW, 61},
    {EOWNERDEAD, 62},
    {EPERM, 63},
    {EPIPE, 64},
    {EPROTO, 65},
    {EPROTONOSUPPORT, 66},
    {EPROTOTYPE, 67},
    {ERANGE, 68},
    {EROFS, 69},
    {ESPIPE, 70},
    {ESRCH, 71},
    {ESTALE, 72},
    {ETIMEDOUT, 73},
    {ETXTBSY, 74},
    {EXDEV, 75},
    // Linux-only: the nearest WASI meaning.
    {EPFNOSUPPORT, 5},
    {EBADFD, 8},
    {ENOTUNIQ, 10},
    {EHOSTDOWN, 23},
    {ERESTART, 27},
    {ETOOMANYREFS, 33},
    {ERFKILL, 38},
    {ENONET, 40},
    {EUSERS, 41},
    {ENOMEDIUM, 43},
    {EMEDIUMTYPE, 43},
    {ELIBBAD, 45},
    {ELIBEXEC, 45},
    {ELIBACC, 45},
    {ELIBSCN, 45},
    {ELIBMAX, 45},
    {ENOSR, 48},
    {ESOCKTNOSUPPORT, 58},
    {ENOTBLK, 58},
    {EKEYEXPIRED, 63},
    {EKEYREJECTED, 63},
    {EKEYREVOKED, 63},
    {ENOKEY, 63},
    {ESHUTDOWN, 64},
    {ESTRPIPE, 64},
    {EDOTDOT, 65},
    {ECHRNG, 68},
    {ETIME, 73},
    {EREMCHG, 4},
    // ENODATA, ECOMM, EREMOTEIO, EUCLEAN, EHWPOISON, the STREAMS and
    // "level" errors and the rest: EIO (the table's default).
};

constexpr int kTableSize = 256;

constexpr std::array<uint16_t, kTableSize> kTable = [] {
  std::array<uint16_t, kTableSize> t{};
  for (uint16_t& v : t) v = kEio;
  t[0] = kSuccess;
  for (const Pair& p : kPairs) t[p.host] = p.wasi;
  return t;
}();

}  // namespace

uint32_t HostErrno(int err) {
  return err >= 0 && err < kTableSize ? uint32_t{kTable[err]} : uint32_t{kEio};
}

}  // namespace aether::wasm::wasi
