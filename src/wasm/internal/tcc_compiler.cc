#include <fcntl.h>
#include <libtcc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <exception>
#include <fstream>
#include <system_error>
#include <thread>

#include "common/file_io.h"
#include "common/unique_fd.h"
#include "wasm/internal/compiler.h"
#include "wasm/internal/elf_stack.h"
#include "wasm/internal/exit_frees.h"

namespace aether::wasm {
namespace {

constexpr const char* kTccLibDir = "/usr/lib/x86_64-linux-gnu/tcc";

// The C library headers that wasm2c output and wasm-rt.h include, cut down
// to the declarations and macros they use, spelled as glibc's headers
// spell them for tcc. glibc's math.h, string.h, stdlib.h and their ~230
// nested headers cost tcc 10-25 ms per module, most of a small module's
// compile; these cost well under 1 ms. The shared object is byte for byte
// the one the real headers give (tcc_compiler_test.cc checks every guest),
// so the cache key stays the same. A name missing here would compile as an
// implicit int-returning declaration (tcc runs with -w): that test is what
// catches it, for a new wasm2c or glue.
struct StubHeader {
  const char* name;
  const char* text;
};
constexpr StubHeader kStubHeaders[] = {
    {"assert.h", R"C(/* glibc's <sys/cdefs.h>, which the real headers include first, ignores
   __attribute__ under compilers that do not define __GNUC__ (tcc). */
#define __attribute__(xyz)
extern void __assert_fail(const char *__assertion, const char *__file, unsigned int __line,
                          const char *__function);
#undef assert
#ifdef NDEBUG
#define assert(expr) ((void)(0))
#else
#define assert(expr) ((expr) ? (void)(0) : __assert_fail(#expr, __FILE__, __LINE__, __func__))
#endif
)C"},
    {"math.h", R"C(#ifndef AETHER_STUB_MATH_H
#define AETHER_STUB_MATH_H
extern double sqrt(double); extern float sqrtf(float);
extern double ceil(double); extern float ceilf(float);
extern double floor(double); extern float floorf(float);
extern double trunc(double); extern float truncf(float);
extern double nearbyint(double); extern float nearbyintf(float);
extern double fabs(double); extern float fabsf(float);
extern int __isnanf(float); extern int __isnan(double); extern int __isnanl(long double);
extern int __signbitf(float); extern int __signbit(double); extern int __signbitl(long double);
extern int __isinff(float); extern int __isinf(double); extern int __isinfl(long double);
#define NAN (0.0f / 0.0f)
#define INFINITY 1e10000f
#define HUGE_VALF 1e10000f
#define HUGE_VAL 1e10000
#define isinf(x) (sizeof((x)) == sizeof(float) ? __isinff(x) : sizeof((x)) == sizeof(double) ? __isinf(x) : __isinfl(x))
#define isnan(x) (sizeof((x)) == sizeof(float) ? __isnanf(x) : sizeof((x)) == sizeof(double) ? __isnan(x) : __isnanl(x))
#define signbit(x) (sizeof((x)) == sizeof(float) ? __signbitf(x) : sizeof((x)) == sizeof(double) ? __signbit(x) : __signbitl(x))
#endif
)C"},
    {"string.h", R"C(#ifndef AETHER_STUB_STRING_H
#define AETHER_STUB_STRING_H
#include <stddef.h>
extern void *memcpy(void *restrict, const void *restrict, size_t);
extern void *memmove(void *, const void *, size_t);
extern void *memset(void *, int, size_t);
extern int memcmp(const void *, const void *, size_t);
extern int strcmp(const char *, const char *);
extern size_t strlen(const char *);
#endif
)C"},
    {"stdlib.h", R"C(#ifndef AETHER_STUB_STDLIB_H
#define AETHER_STUB_STDLIB_H
#include <stddef.h>
extern void abort(void);
#endif
)C"},
    {"alloca.h", R"C(#ifndef AETHER_STUB_ALLOCA_H
#define AETHER_STUB_ALLOCA_H
#include <stddef.h>
extern void *alloca(size_t);
#endif
)C"},
    {"setjmp.h", R"C(#ifndef AETHER_STUB_SETJMP_H
#define AETHER_STUB_SETJMP_H
/* Only named by wasm-rt.h's exception prototypes, which nothing calls. */
typedef struct { long __opaque[25]; } jmp_buf[1];
#endif
)C"},
    {"stdint.h", R"C(#ifndef AETHER_STUB_STDINT_H
#define AETHER_STUB_STDINT_H
typedef signed char int8_t; typedef short int16_t; typedef int int32_t; typedef long int64_t;
typedef unsigned char uint8_t; typedef unsigned short uint16_t; typedef unsigned int uint32_t;
typedef unsigned long uint64_t; typedef long intptr_t; typedef unsigned long uintptr_t;
#define INT8_MIN (-128)
#define INT8_MAX (127)
#define UINT8_MAX (255)
#define INT16_MIN (-32767-1)
#define INT16_MAX (32767)
#define UINT16_MAX (65535)
#define INT32_MIN (-2147483647-1)
#define INT32_MAX (2147483647)
#define UINT32_MAX (4294967295U)
#define INT64_MIN (-9223372036854775807L-1)
#define INT64_MAX (9223372036854775807L)
#define UINT64_MAX (18446744073709551615UL)
#define UINTPTR_MAX (18446744073709551615UL)
#define SIZE_MAX (18446744073709551615UL)
#endif
)C"},
};

std::string DirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

// Writes kStubHeaders into <dir>/aether-include and returns that directory.
Result<std::string> WriteStubHeaders(const std::string& dir) {
  std::string inc = dir + "/aether-include";
  if (mkdir(inc.c_str(), 0700) != 0 && errno != EEXIST) {
    return Internal("tcc: cannot create " + inc + ": " + std::strerror(errno));
  }
  for (const StubHeader& h : kStubHeaders) {
    std::ofstream out(inc + "/" + h.name, std::ios::binary | std::ios::trunc);
    out << h.text;
    if (!out.flush()) return Internal("tcc: cannot write " + inc + "/" + h.name);
  }
  return inc;
}

// What /proc/sys/fs/pipe-max-size allows by default.
constexpr int kPipeBytes = 1 << 20;

// A tcc state set up for the tier: its errors go to `errors`.
Result<TCCState*> NewTccState(const std::string& out_path, TccHeaders headers,
                              std::string* errors) {
  std::string stubs;
  if (headers == TccHeaders::kStubs) {
    ASSIGN_OR_RETURN(stubs, WriteStubHeaders(DirOf(out_path)));
  }
  // libtcc 0.9.27 keeps global state: one state compiles at a time.
  TCCState* s = tcc_new();
  if (s == nullptr) return Internal("tcc: cannot create a compiler state");
  tcc_set_error_func(s, errors, [](void* opaque, const char* msg) {
    auto* e = static_cast<std::string*>(opaque);
    if (e->size() < 2000) *e += std::string(msg) + "\n";
  });
  tcc_set_lib_path(s, kTccLibDir);
  if (headers == TccHeaders::kStubs) {
    // The stubs first; tcc's own headers (stddef.h, stdarg.h, stdbool.h);
    // /usr/include for wasm-rt.h.
    tcc_set_options(s, "-w -nostdinc");
    tcc_add_include_path(s, stubs.c_str());
    tcc_add_include_path(s, (std::string(kTccLibDir) + "/include").c_str());
    tcc_add_include_path(s, "/usr/include");
  } else {
    tcc_set_options(s, "-w");
  }
  tcc_set_output_type(s, TCC_OUTPUT_DLL);
  return s;
}

void DeleteUnlessLeftToExit(TCCState* s) {
  if (!FreeingLeftToExit()) tcc_delete(s);
}

Status Output(TCCState* s, const std::string& out_path, const std::string& errors) {
  if (tcc_output_file(s, out_path.c_str()) != 0) {
    return Internal("tcc: cannot write " + out_path + ": " + errors);
  }
  return MarkStackNotExecutable(out_path);
}

void ReadToEnd(int fd) {
  char buf[1 << 14];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n == 0 || (n < 0 && errno != EINTR)) return;
  }
}

}  // namespace

Status CompileWithTcc(const std::string& c_unit, const std::string& out_path, TccHeaders headers) {
  std::string errors;
  ASSIGN_OR_RETURN(TCCState * s, NewTccState(out_path, headers, &errors));
  Status st = tcc_compile_string(s, c_unit.c_str()) != 0
                  ? Internal("tcc: compilation failed: " + errors)
                  : Output(s, out_path, errors);
  DeleteUnlessLeftToExit(s);
  return st;
}

Status CompileWithTccWhile(const UnitProducer& produce, const std::string& out_path,
                           TccHeaders headers) {
  // tcc reads a file by name: the pipe's read end under /proc names one.
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Unavailable(std::string("pipe: ") + std::strerror(errno));
  UniqueFd rd(fds[0]);
  UniqueFd wr(fds[1]);
  // Room for the unit's pieces ahead of tcc, so the producer rarely waits
  // for tcc's small reads (best effort: the default is 64 KiB).
  (void)fcntl(wr.get(), F_SETPIPE_SZ, kPipeBytes);
  std::string path = "/proc/self/fd/" + std::to_string(rd.get());
  if (access(path.c_str(), R_OK) != 0) {
    return Unavailable("cannot read " + path + " (is /proc mounted?)");
  }
  std::string errors;
  ASSIGN_OR_RETURN(TCCState * s, NewTccState(out_path, headers, &errors));
  std::atomic<bool> tcc_done{false};
  int tcc_rc = 0;
  std::thread tcc;
  try {
    tcc = std::thread([&] {
      tcc_rc = tcc_add_file(s, path.c_str());
      tcc_done.store(true, std::memory_order_release);
      // tcc stops reading at an error: take the rest, so that the
      // producer's writes never block on a full pipe.
      ReadToEnd(rd.get());
    });
  } catch (const std::system_error& e) {
    tcc_delete(s);
    return Unavailable(std::string("cannot start the tcc thread: ") + e.what());
  }
  bool tcc_stopped = false;  // the producer failed because tcc had
  auto write = [&](std::string_view text, bool last) -> Status {
    if (tcc_done.load(std::memory_order_acquire)) {
      tcc_stopped = true;
      return Internal("tcc stopped reading");
    }
    if (wr.get() < 0) return Internal("tcc pipe: written after the unit's end");
    if (!aether::WriteAll(wr.get(), text))
      return Internal(std::string("tcc pipe: ") + std::strerror(errno));
    if (last) wr.reset();  // EOF: tcc finishes the unit
    return OkStatus();
  };
  Status produced;
  std::exception_ptr thrown;
  try {
    produced = produce(write);
  } catch (...) {
    thrown = std::current_exception();
  }
  wr.reset();  // if `last` never came: the drain ends
  tcc.join();
  // The producer's own error first: tcc then failed only for the unit
  // cut short.
  Status st;
  if (tcc_rc != 0 && (produced.ok() || tcc_stopped)) {
    st = Internal("tcc: compilation failed: " + errors);
  } else if (!produced.ok()) {
    st = produced;
  } else if (!thrown) {
    st = Output(s, out_path, errors);
  }
  DeleteUnlessLeftToExit(s);
  if (thrown) std::rethrow_exception(thrown);
  return st;
}

}  // namespace aether::wasm
