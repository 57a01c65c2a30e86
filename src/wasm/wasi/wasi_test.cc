// The WASI host without a filesystem: registration, args/env, clocks,
// random, captured stdio, poll_oneoff, proc_exit, guest pointer checks.

#include "wasm/wasi/wasi.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include "wasm/wasi/wasi_test_util.h"

namespace aether::wasm::testing {
namespace {

constexpr uint32_t kEbadf = 8, kEfault = 21, kEfbig = 22, kEintr = 27, kEinval = 28, kEnosys = 52,
                   kEnotsock = 57, kEnotsup = 58, kEspipe = 70, kEnotcapable = 76;

using WasiTest = WasiFixture;

TEST_F(WasiTest, RegistersAll46FunctionsWithExactSignatures) {
  std::vector<std::string> names = registry_.NamesIn(kWasi);
  EXPECT_EQ(names.size(), 46u);
  const std::pair<const char*, const char*> kSigs[] = {
      {"fd_write", "i:iiii"},     {"fd_seek", "i:iIii"},
      {"proc_exit", "v:i"},       {"clock_time_get", "i:iIi"},
      {"fd_pread", "i:iiiIi"},    {"path_open", "i:iiiiiIIii"},
      {"sched_yield", "i:"},      {"poll_oneoff", "i:iiii"},
      {"fd_readdir", "i:iiiIi"},  {"path_filestat_set_times", "i:iiiiIIi"},
      {"fd_advise", "i:iIIi"},    {"sock_recv", "i:iiiiii"},
      {"path_link", "i:iiiiiii"}, {"fd_fdstat_set_rights", "i:iII"},
  };
  for (const auto& [name, sig] : kSigs) {
    const HostFunction* f = registry_.Find(kWasi, name);
    ASSERT_NE(f, nullptr) << name;
    EXPECT_EQ(f->signature, sig) << name;
    EXPECT_NE(f->fn, nullptr);
  }
}

TEST_F(WasiTest, ArgsAndEnviron) {
  WasiOptions o;
  o.args = {"hello", "--flag", ""};
  o.env = {"A=1", "LONG_NAME=some value"};
  Init(o);
  uint32_t count = Alloc(4), size = Alloc(4);
  ASSERT_EQ(Call("args_sizes_get", count, size), 0u);
  EXPECT_EQ(U32(count), 3u);
  EXPECT_EQ(U32(size), 6u + 7u + 1u);
  uint32_t argv = Alloc(12), buf = Alloc(U32(size));
  ASSERT_EQ(Call("args_get", argv, buf), 0u);
  EXPECT_EQ(U32(argv), buf);
  EXPECT_EQ(Str(U32(argv), 6), std::string("hello\0", 6));
  EXPECT_EQ(Str(U32(argv + 4), 7), std::string("--flag\0", 7));
  EXPECT_EQ(mem_[U32(argv + 8)], 0);

  ASSERT_EQ(Call("environ_sizes_get", count, size), 0u);
  EXPECT_EQ(U32(count), 2u);
  EXPECT_EQ(U32(size), 4u + 21u);
  uint32_t envp = Alloc(8), ebuf = Alloc(U32(size));
  ASSERT_EQ(Call("environ_get", envp, ebuf), 0u);
  EXPECT_EQ(Str(U32(envp + 4), 20), "LONG_NAME=some value");

  EXPECT_EQ(Call("args_get", kMemSize - 4, buf), kEfault);
  EXPECT_EQ(Call("args_get", argv, kMemSize - 3), kEfault);
  EXPECT_EQ(Call("environ_sizes_get", 0xfffffffeu, size), kEfault);
}

TEST_F(WasiTest, Clocks) {
  Init({});
  uint32_t t = Alloc(8);
  ASSERT_EQ(Call("clock_time_get", 1u, uint64_t{1}, t), 0u);
  uint64_t m1 = U64(t);
  ASSERT_EQ(Call("clock_time_get", 1u, uint64_t{1}, t), 0u);
  EXPECT_GE(U64(t), m1);
  ASSERT_EQ(Call("clock_time_get", 0u, uint64_t{0}, t), 0u);
  uint64_t now_s = static_cast<uint64_t>(::time(nullptr));
  EXPECT_NEAR(static_cast<double>(U64(t) / 1000000000ull), static_cast<double>(now_s), 2.0);
  for (uint32_t id : {2u, 3u}) {
    ASSERT_EQ(Call("clock_time_get", id, uint64_t{0}, t), 0u) << id;
    ASSERT_EQ(Call("clock_res_get", id, t), 0u) << id;
    EXPECT_GT(U64(t), 0u);
  }
  EXPECT_EQ(Call("clock_time_get", 4u, uint64_t{0}, t), kEinval);
  EXPECT_EQ(Call("clock_res_get", 9u, t), kEinval);
  EXPECT_EQ(Call("clock_time_get", 1u, uint64_t{0}, kMemSize - 7), kEfault);
}

TEST_F(WasiTest, RandomGet) {
  Init({});
  uint32_t a = Alloc(64), b = Alloc(64);
  ASSERT_EQ(Call("random_get", a, 64u), 0u);
  ASSERT_EQ(Call("random_get", b, 64u), 0u);
  EXPECT_NE(Str(a, 64), Str(b, 64));
  EXPECT_NE(Str(a, 64), std::string(64, '\0'));
  EXPECT_EQ(Call("random_get", 0u, 0u), 0u);
  EXPECT_EQ(Call("random_get", kMemSize - 10, 11u), kEfault);
}

TEST_F(WasiTest, CapturedStdinStdoutStderr) {
  WasiOptions o;
  std::string input = "{\"x\":1}\nsecond line";
  o.stdin_data = input;
  Init(o);
  EXPECT_EQ(Read(0, 8), "{\"x\":1}\n");
  EXPECT_EQ(Read(0, 100), "second line");
  EXPECT_EQ(Read(0, 100), "");  // EOF

  // Two iovecs in one call.
  uint32_t iovs = Alloc(16), n = Alloc(4);
  SetU32(iovs, Put("hello, "));
  SetU32(iovs + 4, 7);
  SetU32(iovs + 8, Put("world"));
  SetU32(iovs + 12, 5);
  ASSERT_EQ(Call("fd_write", 1u, iovs, 2u, n), 0u);
  EXPECT_EQ(U32(n), 12u);
  ASSERT_EQ(Write(2, "oops"), 0u);
  EXPECT_EQ(wasi_->stdout_data(), "hello, world");
  EXPECT_EQ(wasi_->stderr_data(), "oops");

  uint32_t err;
  Read(1, 4, &err);
  EXPECT_EQ(err, kEbadf);
  EXPECT_EQ(Write(0, "x"), kEbadf);
  EXPECT_EQ(Write(7, "x"), kEbadf);
  uint32_t pos = Alloc(8);
  EXPECT_EQ(Call("fd_seek", 1u, uint64_t{0}, 0u, pos), kEspipe);
  EXPECT_EQ(Call("fd_tell", 0u, pos), kEspipe);
}

TEST_F(WasiTest, StdioLooksLikeATerminalWithoutSeekRights) {
  Init({});
  uint32_t st = Alloc(24);
  for (uint32_t fd = 0; fd < 3; ++fd) {
    ASSERT_EQ(Call("fd_fdstat_get", fd, st), 0u);
    EXPECT_EQ(mem_[st], 2) << "character device";
    uint64_t rights = U64(st + 8);
    EXPECT_EQ(rights & ((1u << 2) | (1u << 5)), 0u) << "no fd_seek / fd_tell";
    EXPECT_NE(rights & (fd == 0 ? 1u << 1 : 1u << 6), 0u);
  }
  uint32_t fs = Alloc(64);
  ASSERT_EQ(Call("fd_filestat_get", 1u, fs), 0u);
  EXPECT_EQ(mem_[fs + 16], 2);
  EXPECT_EQ(Call("fd_prestat_get", 0u, st), kEbadf);
  EXPECT_EQ(Call("fd_prestat_get", 3u, st), kEbadf);
}

TEST_F(WasiTest, OutputCapIsCutAtTheCapThenEfbig) {
  WasiOptions o;
  o.max_output_bytes = 10;
  Init(o);
  uint32_t n;
  ASSERT_EQ(Write(1, "12345678", &n), 0u);
  EXPECT_EQ(n, 8u);
  ASSERT_EQ(Write(1, "abcde", &n), 0u);
  EXPECT_EQ(n, 2u);
  EXPECT_EQ(Write(1, "z"), kEfbig);
  EXPECT_EQ(wasi_->stdout_data(), "12345678ab");
  ASSERT_EQ(Write(2, "0123456789"), 0u);  // the cap is per stream
  EXPECT_EQ(Write(1, ""), 0u);            // an empty write still succeeds
}

TEST_F(WasiTest, BadGuestPointersGiveEfault) {
  Init({});
  uint32_t n = Alloc(4);
  EXPECT_EQ(Call("fd_write", 1u, kMemSize - 4, 1u, n), kEfault);          // iovec array
  EXPECT_EQ(Call("fd_write", 1u, Iov(kMemSize - 2, 3), 1u, n), kEfault);  // buffer
  EXPECT_EQ(Call("fd_write", 1u, Iov(0xfffffff0u, 0x20), 1u, n), kEfault);
  EXPECT_EQ(Call("fd_write", 1u, Iov(Put("x"), 1), 1u, kMemSize), kEfault);  // nwritten
  EXPECT_EQ(Call("fd_write", 1u, 0xfffffff8u, 2u, n), kEfault);              // wraps past 4 GiB
  EXPECT_EQ(Call("fd_write", 1u, 64u, 0x20000000u, n), kEinval);             // more than IOV_MAX
  EXPECT_EQ(Call("fd_read", 0u, Iov(kMemSize, 1), 1u, n), kEfault);
  EXPECT_EQ(Call("fd_fdstat_get", 1u, kMemSize - 23), kEfault);
  EXPECT_EQ(Call("poll_oneoff", kMemSize - 47, Alloc(32), 1u, n), kEfault);
  EXPECT_TRUE(wasi_->stdout_data().empty()) << "nothing is written when a pointer is bad";

  ctx_.memory = nullptr;  // a module without memory
  EXPECT_EQ(Call("fd_write", 1u, 0u, 0u, 0u), kEfault);
}

TEST_F(WasiTest, FdTableOperations) {
  Init({});
  uint32_t st = Alloc(24);
  // Shrinking rights is allowed, growing them back is not.
  ASSERT_EQ(Call("fd_fdstat_set_rights", 1u, uint64_t{1u << 6}, uint64_t{0}), 0u);
  EXPECT_EQ(Call("fd_fdstat_set_rights", 1u, uint64_t{(1u << 6) | (1u << 1)}, uint64_t{0}),
            kEnotcapable);
  ASSERT_EQ(Call("fd_fdstat_get", 1u, st), 0u);
  EXPECT_EQ(U64(st + 8), uint64_t{1u << 6});

  // fd 2 becomes what fd 1 was.
  ASSERT_EQ(Call("fd_renumber", 1u, 2u), 0u);
  EXPECT_EQ(Write(1, "x"), kEbadf);
  ASSERT_EQ(Write(2, "to stdout"), 0u);
  EXPECT_EQ(wasi_->stdout_data(), "to stdout");
  EXPECT_EQ(Call("fd_renumber", 2u, 9u), kEbadf);
  ASSERT_EQ(Call("fd_close", 2u), 0u);
  EXPECT_EQ(Call("fd_close", 2u), kEbadf);
  EXPECT_EQ(Call("fd_fdstat_get", 2u, st), kEbadf);

  EXPECT_EQ(Call("fd_fdstat_set_flags", 0u, 16u), kEnotsup);  // sync cannot be set
  EXPECT_EQ(Call("fd_sync", 0u), kEnotcapable);
  EXPECT_EQ(Call("fd_advise", 0u, uint64_t{0}, uint64_t{0}, 9u), kEinval);
}

TEST_F(WasiTest, UnsupportedCallsSaySo) {
  Init({});
  uint32_t p = Alloc(8);
  EXPECT_EQ(Call("proc_raise", 9u), kEnosys);
  EXPECT_EQ(Call("sched_yield"), 0u);
  // No fd is a socket: EBADF when it is not open, ENOTSOCK when it is.
  EXPECT_EQ(Call("sock_accept", 3u, 0u, p), kEbadf);
  EXPECT_EQ(Call("sock_recv", 3u, p, 1u, 0u, p, p), kEbadf);
  EXPECT_EQ(Call("sock_send", 3u, p, 1u, 0u, p), kEbadf);
  EXPECT_EQ(Call("sock_shutdown", 3u, 0u), kEbadf);
  EXPECT_EQ(Call("sock_accept", 0u, 0u, p), kEnotsock);
  EXPECT_EQ(Call("sock_recv", 0u, p, 1u, 0u, p, p), kEnotsock);
  EXPECT_EQ(Call("sock_send", 1u, p, 1u, 0u, p), kEnotsock);
  EXPECT_EQ(Call("sock_shutdown", 1u, 0u), kEnotsock);
}

TEST_F(WasiTest, ProcExitRecordsCodeAndUnwinds) {
  Init({});
  const HostFunction* f = registry_.Find(kWasi, "proc_exit");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->signature, "v:i");
  EXPECT_FALSE(wasi_->exited());
  reinterpret_cast<void (*)(void*, uint32_t)>(f->fn)(&ctx_, 42);
  EXPECT_TRUE(wasi_->exited());
  EXPECT_EQ(wasi_->exit_code(), 42u);
  EXPECT_EQ(ctx_.hdr.unwind, static_cast<uint32_t>(AETHER_UNWIND_EXIT));
}

// Subscription and event helpers (witx layouts: 48 and 32 bytes).
struct Sub {
  uint64_t userdata;
  uint8_t tag;
  uint32_t clock_or_fd;
  uint64_t timeout = 0;
  uint16_t flags = 0;
};

class PollTest : public WasiFixture {
 protected:
  uint32_t Subs(const std::vector<Sub>& subs) {
    uint32_t p = Alloc(48 * static_cast<uint32_t>(subs.size()));
    for (size_t i = 0; i < subs.size(); ++i) {
      uint32_t s = p + 48 * static_cast<uint32_t>(i);
      SetU64(s, subs[i].userdata);
      mem_[s + 8] = subs[i].tag;
      SetU32(s + 16, subs[i].clock_or_fd);
      SetU64(s + 24, subs[i].timeout);
      std::memcpy(&mem_[s + 40], &subs[i].flags, 2);
    }
    return p;
  }
  uint32_t Poll(const std::vector<Sub>& subs, uint32_t* events, uint32_t* nevents) {
    uint32_t in = Subs(subs);
    *events = Alloc(32 * static_cast<uint32_t>(subs.size()));
    uint32_t n = Alloc(4);
    uint32_t err = Call("poll_oneoff", in, *events, static_cast<uint32_t>(subs.size()), n);
    *nevents = U32(n);
    return err;
  }
  uint16_t EvError(uint32_t ev) const {
    return static_cast<uint16_t>(mem_[ev + 8] | mem_[ev + 9] << 8);
  }
};

TEST_F(PollTest, RelativeClockTimeoutSleeps) {
  Init({});
  uint32_t ev, n;
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(Poll({{77, 0, 1, 20'000'000}}, &ev, &n), 0u);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(20));
  ASSERT_EQ(n, 1u);
  EXPECT_EQ(U64(ev), 77u);
  EXPECT_EQ(EvError(ev), 0u);
  EXPECT_EQ(mem_[ev + 10], 0) << "clock event";
}

TEST_F(PollTest, AbsoluteClockInThePastFiresAtOnce) {
  Init({});
  uint32_t ev, n;
  ASSERT_EQ(Poll({{1, 0, 1, 1, /*abstime*/ 1}, {2, 0, 0, 1, 1}}, &ev, &n), 0u);
  EXPECT_EQ(n, 2u);
  // The shorter of two relative timeouts wins.
  ASSERT_EQ(Poll({{5, 0, 1, 10'000'000'000ull}, {6, 0, 1, 1'000'000}}, &ev, &n), 0u);
  ASSERT_EQ(n, 1u);
  EXPECT_EQ(U64(ev), 6u);
}

TEST_F(PollTest, CapturedStdioIsReadyAndBadFdsReportErrors) {
  WasiOptions o;
  o.stdin_data = "abc";
  Init(o);
  uint32_t ev, n;
  ASSERT_EQ(Poll({{10, 1, 0}, {11, 2, 1}, {12, 1, 99}, {13, 0, 1, 5'000'000'000ull}}, &ev, &n), 0u);
  ASSERT_EQ(n, 3u);
  std::set<uint64_t> seen;
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t e = ev + 32 * i;
    seen.insert(U64(e));
    if (U64(e) == 10) {
      EXPECT_EQ(U64(e + 16), 3u) << "bytes readable on stdin";
    }
    if (U64(e) == 12) {
      EXPECT_EQ(EvError(e), kEbadf);
    }
  }
  EXPECT_EQ(seen, (std::set<uint64_t>{10, 11, 12}));
  EXPECT_EQ(Call("poll_oneoff", Alloc(48), Alloc(32), 0u, Alloc(4)), kEinval);
  ASSERT_EQ(Poll({{1, 0, 7, 0}}, &ev, &n), 0u);  // unknown clock
  ASSERT_EQ(n, 1u);
  EXPECT_EQ(EvError(ev), kEinval);
}

void NoopHandler(int) {}

TEST_F(PollTest, InterruptWithUnwindReturnsAtOnce) {
  Init({});
  struct sigaction sa = {}, old = {};
  sa.sa_handler = NoopHandler;  // no SA_RESTART: ppoll must see EINTR
  ASSERT_EQ(sigaction(SIGUSR2, &sa, &old), 0);
  uint32_t in = Subs({{1, 0, 1, 30'000'000'000ull}});
  uint32_t out = Alloc(32), n = Alloc(4);
  std::atomic<bool> started{false};
  std::atomic<uint32_t> result{0xffff};
  std::thread guest([&] {
    started = true;
    result = Call("poll_oneoff", in, out, 1u, n);
  });
  while (!started) std::this_thread::yield();
  // Not a wait for an outcome: a head start so that the signal finds the
  // guest blocked in ppoll, the case under test (nothing shows that a thread
  // is inside a syscall).
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ctx_.hdr.unwind = AETHER_UNWIND_TIMEOUT;
  pthread_kill(guest.native_handle(), SIGUSR2);
  guest.join();
  EXPECT_EQ(result.load(), kEintr);
  sigaction(SIGUSR2, &old, nullptr);
}

TEST(WasiCreate, MissingPreopenIsNotFound) {
  WasiOptions o;
  o.preopens.push_back({"/nonexistent/aether-wasi-test", "/data"});
  auto r = WasiCtx::Create(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_NE(r.status().message().find("/nonexistent/aether-wasi-test"), std::string::npos);
  o.preopens[0].host_path = "/etc/passwd";
  r = WasiCtx::Create(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
}

// With inherit_stdio the guest's fd 0 is the process's: fd_fdstat_get says
// what that really is. The test puts a regular file, /dev/null (a character
// device) and a pipe (no WASI filetype: unknown) on the process's fd 0 in
// turn, and restores it after.
TEST_F(WasiTest, InheritedStdioReportsTheRealFiletype) {
  int saved = ::dup(0);
  ASSERT_GE(saved, 0);
  char path[] = "/tmp/aether-wasi-stdin-XXXXXX";
  int file = ::mkstemp(path);
  ASSERT_GE(file, 0);
  ::unlink(path);
  int dev_null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  uint32_t st = Alloc(24);
  auto stdin_as = [&](int host_fd) {
    EXPECT_EQ(::dup2(host_fd, 0), 0);
    WasiOptions o;
    o.inherit_stdio = true;
    Init(o);
    EXPECT_EQ(Call("fd_fdstat_get", 0u, st), 0u);
    return mem_[st];
  };
  EXPECT_EQ(stdin_as(file), 4) << "regular file";
  EXPECT_NE(U64(st + 8) & (1u << 2), 0u) << "a regular file may seek";
  EXPECT_EQ(stdin_as(dev_null), 2) << "character device";
  EXPECT_EQ(U64(st + 8) & (1u << 2), 0u) << "a stream may not seek";
  EXPECT_EQ(stdin_as(pipe_fds[0]), 0) << "a pipe: unknown";
  ::dup2(saved, 0);
  for (int fd : {saved, file, dev_null, pipe_fds[0], pipe_fds[1]}) ::close(fd);
}

}  // namespace
}  // namespace aether::wasm::testing
