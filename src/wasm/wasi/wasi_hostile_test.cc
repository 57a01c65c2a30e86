// The WASI host against hostile guests (issue #9): blocking calls that must
// end at the execution's deadline even when the watchdog's one signal is
// lost, writes whose iovecs make the host copy without bound, and stdio
// that is a host socket.

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <thread>

#include "wasm/engine.h"
#include "wasm/internal/thread_state.h"
#include "wasm/test_support.h"
#include "wasm/wasi/wasi.h"
#include "wasm/wasi/wasi_test_util.h"

namespace aether::wasm::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr uint32_t kEagain = 6, kEintr = 27, kEinval = 28, kEnotsock = 57;
constexpr uint64_t kAllRights = (1ull << 30) - 1;
constexpr uint64_t kReadOnly = (1ull << 1) | (1ull << 27);  // fd_read, poll_fd_readwrite
constexpr uint32_t kRoot = 3;                               // the preopen
constexpr uint32_t kFdflagNonblock = 4;
// A call still blocked this long after it started (its deadline: kDeadline)
// is stuck.
constexpr milliseconds kHang{5000};
constexpr milliseconds kDeadline{200};

struct Timed {
  uint32_t err = 0xffff;
  milliseconds took{0};
  bool hung = false;  // still blocked kHang after the call started
};

// Runs `call` on a thread of its own as a host call of a guest runs: the
// watchdog is armed with `timeout`, but the thread blocks the real-time
// signals, so the watchdog's one signal never interrupts it. That is the
// state a timeout leaves when it lands between a host call's check of
// hdr.unwind and its blocking system call. When the call is still blocked
// after kHang, `unblock` runs so that a failing test still ends.
// Blocks (or unblocks) the real-time signals, the watchdog's among them, on
// the calling thread.
void MaskTimeoutSignal(int how) {
  sigset_t rt;
  sigemptyset(&rt);
  for (int s = SIGRTMIN; s <= SIGRTMAX; ++s) sigaddset(&rt, s);
  pthread_sigmask(how, &rt, nullptr);
}

Timed CallWithLostSignal(milliseconds timeout, const std::function<uint32_t()>& call,
                         const std::function<void()>& unblock) {
  InstallSignalHandlers();
  std::promise<Timed> done;
  std::future<Timed> result = done.get_future();
  std::thread t([&] {
    MaskTimeoutSignal(SIG_BLOCK);
    PrepareCurrentThread();
    ThreadState* st = CurrentThreadState();
    ArmWatchdog(st, timeout);
    auto t0 = Clock::now();
    Timed r;
    r.err = call();
    r.took = std::chrono::duration_cast<milliseconds>(Clock::now() - t0);
    DisarmWatchdog(st);
    done.set_value(r);
  });
  bool hung = result.wait_for(kHang) != std::future_status::ready;
  if (hung) unblock();
  Timed r = result.get();
  r.hung = hung;
  t.join();
  return r;
}

class WasiHostileTest : public WasiFixture {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/aether_wasi_hostile_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ASSERT_EQ(mkfifo((dir_ / "fifo").c_str(), 0600), 0);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void InitWithPreopen(WasiOptions o = {}) {
    o.preopens.push_back({dir_.string(), "/box"});
    Init(o);
  }
  // The test's own end of the FIFO, opened read-write so it never waits
  // and keeps both a reader and a writer present.
  int OpenFifoHere() {
    int fd = open((dir_ / "fifo").c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
    EXPECT_GE(fd, 0);
    return fd;
  }
  uint32_t OpenFifo(uint64_t rights, uint32_t fdflags, uint32_t* fd) {
    uint32_t out = Alloc(4);
    uint32_t err =
        Call("path_open", kRoot, 0u, Put("fifo"), 4u, 0u, rights, kAllRights, fdflags, out);
    *fd = U32(out);
    return err;
  }
  // Sets up the preopen and opens its FIFO for the guest (returned) and for
  // the test (*here), so both a reader and a writer are present.
  uint32_t SharedFifo(int* here) {
    InitWithPreopen();
    *here = OpenFifoHere();
    uint32_t fd = 0;
    EXPECT_EQ(OpenFifo(kAllRights, 0, &fd), 0u);
    return fd;
  }
  // Unblockers for a call that waits on the FIFO.
  static std::function<void()> Feed(int here) {
    return [here] { EXPECT_EQ(write(here, "x", 1), 1); };
  }
  static std::function<void()> Drain(int here) {
    return [here] {
      char chunk[4096];
      while (read(here, chunk, sizeof chunk) > 0) {
      }
    };
  }
  static void Fill(int here) {
    char chunk[4096] = {};
    while (write(here, chunk, sizeof chunk) > 0) {
    }
  }
  // Subscriptions (48 bytes each): a relative monotonic clock, an fd read.
  void ClockSub(uint32_t p, uint64_t userdata, uint64_t ns) {
    SetU64(p, userdata);
    mem_[p + 8] = 0;
    SetU32(p + 16, 1);
    SetU64(p + 24, ns);
  }
  void ReadSub(uint32_t p, uint64_t userdata, uint32_t fd) {
    SetU64(p, userdata);
    mem_[p + 8] = 1;
    SetU32(p + 16, fd);
  }

  // `count` iovecs that all point at the same `len` bytes.
  uint32_t SameBufferIovecs(uint32_t buf, uint32_t len, uint32_t count) {
    uint32_t iovs = Alloc(8 * count);
    for (uint32_t i = 0; i < count; ++i) {
      SetU32(iovs + 8 * i, buf);
      SetU32(iovs + 8 * i + 4, len);
    }
    return iovs;
  }

  fs::path dir_;
};

void ExpectEndedAtTheDeadline(const Timed& r, const ExecContext& ctx) {
  EXPECT_FALSE(r.hung) << "the call slept past the execution's deadline";
  EXPECT_EQ(r.err, kEintr);
  EXPECT_LT(r.took, kHang);
  EXPECT_EQ(ctx.hdr.unwind, static_cast<uint32_t>(AETHER_UNWIND_TIMEOUT));
}

// ---- #6: blocking calls end at the deadline ------------------------------

TEST_F(WasiHostileTest, PollSleepEndsAtTheDeadlineWhenTheSignalIsLost) {
  Init({});
  uint32_t in = Alloc(48), out = Alloc(32), n = Alloc(4);
  ClockSub(in, 1, 8'000'000'000ull);  // 8 s: well past the 200 ms deadline
  Timed r = CallWithLostSignal(
      kDeadline, [&] { return Call("poll_oneoff", in, out, 1u, n); }, [] {});
  ExpectEndedAtTheDeadline(r, ctx_);
  EXPECT_GE(r.took, kDeadline - milliseconds(20));
}

TEST_F(WasiHostileTest, PollOnAnIdleFdEndsAtTheDeadlineWhenTheSignalIsLost) {
  int here;
  uint32_t fd = SharedFifo(&here);
  uint32_t in = Alloc(48), out = Alloc(32), n = Alloc(4);
  ReadSub(in, 1, fd);
  Timed r = CallWithLostSignal(
      kDeadline, [&] { return Call("poll_oneoff", in, out, 1u, n); }, Feed(here));
  ExpectEndedAtTheDeadline(r, ctx_);
  close(here);
}

TEST_F(WasiHostileTest, BlockingReadEndsAtTheDeadlineWhenTheSignalIsLost) {
  int here;
  uint32_t fd = SharedFifo(&here);
  uint32_t iov = Iov(Alloc(16), 16), n = Alloc(4);
  Timed r = CallWithLostSignal(
      kDeadline, [&] { return Call("fd_read", fd, iov, 1u, n); }, Feed(here));
  ExpectEndedAtTheDeadline(r, ctx_);
  close(here);
}

TEST_F(WasiHostileTest, BlockingWriteToAFullPipeEndsAtTheDeadlineWhenTheSignalIsLost) {
  int here;
  uint32_t fd = SharedFifo(&here);
  Fill(here);
  uint32_t n = Alloc(4), iov = Iov(Put(std::string(8192, 'y')), 8192);
  Timed r = CallWithLostSignal(
      kDeadline, [&] { return Call("fd_write", fd, iov, 1u, n); }, Drain(here));
  ExpectEndedAtTheDeadline(r, ctx_);
  close(here);
}

TEST(WasiHostileRun, SleepingGuestTimesOutWhenTheSignalIsLost) {
  // The whole path: the sleep guest's nanosleep is poll_oneoff; the host
  // call ends at the deadline by itself, and the runtime reports a timeout.
  fs::path cache = fs::temp_directory_path() / ("aether-wasi-hostile-" + std::to_string(getpid()));
  EngineOptions eo;
  eo.cache_dir = cache.string();
  eo.optimize = false;  // no background compile to wait for
  std::unique_ptr<Engine> engine = NewAotEngine(eo);
  RunResult result;
  milliseconds took{0};
  OnGuestThread([&] {
    auto m = engine->Load(ReadGuest("sleep"));
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    RunOptions o;
    o.stdin_data = "6000";  // ms: past kHang, so a sleep to the end fails the test
    o.limits.timeout = milliseconds(300);
    MaskTimeoutSignal(SIG_BLOCK);
    auto t0 = Clock::now();
    auto r = engine->Run(**m, o);
    took = std::chrono::duration_cast<milliseconds>(Clock::now() - t0);
    MaskTimeoutSignal(SIG_UNBLOCK);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    result = std::move(*r);
  });
  EXPECT_EQ(result.trap, TrapKind::kTimeout) << result.stdout_data;
  EXPECT_LT(took, kHang);
  engine.reset();
  fs::remove_all(cache);
}

TEST_F(WasiHostileTest, ReadThatStartsAfterTheTimeoutFiredReturnsAtOnce) {
  // The watchdog's signal came while the host call was still on its way to
  // the system call: hdr.unwind is already set, and no second signal comes.
  int here;
  uint32_t fd = SharedFifo(&here);
  uint32_t iov = Iov(Alloc(16), 16), n = Alloc(4);
  ctx_.hdr.unwind = AETHER_UNWIND_TIMEOUT;
  Timed r = CallWithLostSignal(
      std::chrono::hours(1), [&] { return Call("fd_read", fd, iov, 1u, n); }, Feed(here));
  EXPECT_FALSE(r.hung);
  EXPECT_EQ(r.err, kEintr);
  close(here);
}

TEST_F(WasiHostileTest, OpeningAFifoDoesNotWaitForTheOtherEnd) {
  InitWithPreopen();
  uint32_t fd;
  Timed r = CallWithLostSignal(
      kDeadline, [&] { return OpenFifo(kReadOnly, 0, &fd); }, [&] { close(OpenFifoHere()); });
  ASSERT_FALSE(r.hung) << "path_open waited for a writer";
  ASSERT_EQ(r.err, 0u);
  // With nobody at the other end, a read is at end of file at once.
  uint32_t err = 0xffff;
  EXPECT_EQ(Read(fd, 8, &err), "");
  EXPECT_EQ(err, 0u);
  // The guest asked for a blocking descriptor and got one.
  uint32_t st = Alloc(24);
  ASSERT_EQ(Call("fd_fdstat_get", fd, st), 0u);
  EXPECT_EQ(mem_[st + 2] & kFdflagNonblock, 0);
}

TEST_F(WasiHostileTest, NonBlockingDescriptorSaysEagainInsteadOfWaiting) {
  InitWithPreopen();
  int here = OpenFifoHere();
  uint32_t fd;
  ASSERT_EQ(OpenFifo(kAllRights, kFdflagNonblock, &fd), 0u);
  uint32_t err = 0xffff;
  Read(fd, 8, &err);
  EXPECT_EQ(err, kEagain);
  ASSERT_EQ(write(here, "abc", 3), 3);
  EXPECT_EQ(Read(fd, 8, &err), "abc");
  close(here);
}

TEST_F(WasiHostileTest, RandomGetStopsWhenTheExecutionEnds) {
  Init({});
  ctx_.hdr.unwind = AETHER_UNWIND_TIMEOUT;
  EXPECT_EQ(Call("random_get", Alloc(4096), 4096u), kEintr);
}

// ---- #7: writes and other copies are bounded ----------------------------

TEST_F(WasiHostileTest, OverlappingIovecsIntoTheSinkAreNotGatheredIntoOneBuffer) {
  // 128 iovecs over the same 512 KiB: 64 MiB if gathered (with a bigger
  // memory and IOV_MAX iovecs, gigabytes). The sink gets
  // bounded pieces and the guest a short count it can continue from.
  size_t largest = 0, total = 0;
  WasiOptions o;
  o.output_sink = [&](int, std::string_view bytes) {
    largest = std::max(largest, bytes.size());
    total += bytes.size();
  };
  Init(o);
  uint32_t len = 512 << 10;
  uint32_t buf = Alloc(len);
  uint32_t iovs = SameBufferIovecs(buf, len, 128), n = Alloc(4);
  ASSERT_EQ(Call("fd_write", 1u, iovs, 128u, n), 0u);
  EXPECT_GT(U32(n), 0u);
  EXPECT_LE(largest, size_t{1} << 20) << "one sink call holds a gathered copy";
  EXPECT_EQ(total, U32(n)) << "the count is what the sink got";
}

TEST_F(WasiHostileTest, OverlappingIovecsStopAtTheOutputCap) {
  WasiOptions o;
  o.max_output_bytes = 1 << 20;
  Init(o);
  uint32_t len = 256 << 10;
  uint32_t iovs = SameBufferIovecs(Alloc(len), len, 1024), n = Alloc(4);
  uint64_t written = 0;
  uint32_t err = 0;
  for (int i = 0; i < 100 && err == 0; ++i) {
    err = Call("fd_write", 1u, iovs, 1024u, n);
    if (err == 0) written += U32(n);
  }
  EXPECT_EQ(err, 22u) << "EFBIG past the cap";
  EXPECT_EQ(written, uint64_t{1} << 20);
  EXPECT_EQ(wasi_->stdout_data().size(), size_t{1} << 20);
}

TEST_F(WasiHostileTest, PollRefusesSubscriptionsBeyondTheCap) {
  Init({});
  uint32_t count = 5000;
  uint32_t in = Alloc(48 * count), out = Alloc(32 * count), n = Alloc(4);
  for (uint32_t i = 0; i < count; ++i) ClockSub(in + 48 * i, i, 0);
  EXPECT_EQ(Call("poll_oneoff", in, out, count, n), kEinval);
  EXPECT_EQ(Call("poll_oneoff", in, out, 4096u, n), 0u);
}

// ---- #11: host sockets are not the guest's sockets ----------------------

// The process's stdin replaced by `fd` (which it takes) for the object's
// life, as `aether run` inherits it. The WasiCtx must not outlive it.
class ReplacedStdin {
 public:
  explicit ReplacedStdin(int fd) : saved_(dup(0)) {
    dup2(fd, 0);
    close(fd);
  }
  ~ReplacedStdin() {
    dup2(saved_, 0);
    close(saved_);
  }

 private:
  int saved_;
};

TEST_F(WasiHostileTest, InheritedFifoStdioWaitsEndAtTheDeadlineWhenTheSignalIsLost) {
  // A FIFO has no RWF_NOWAIT, and an inherited fd's blocking mode is not
  // ours to change: the host polls first, and writes what poll promised.
  int here = OpenFifoHere();
  ReplacedStdin in(open((dir_ / "fifo").c_str(), O_RDWR | O_CLOEXEC));  // blocking
  WasiOptions o;
  o.inherit_stdio = true;
  Init(o);
  uint32_t iov = Iov(Alloc(16), 16), n = Alloc(4);
  Timed r = CallWithLostSignal(
      kDeadline, [&] { return Call("fd_read", 0u, iov, 1u, n); }, Feed(here));
  ExpectEndedAtTheDeadline(r, ctx_);

  ctx_.hdr.unwind = AETHER_UNWIND_NONE;
  Fill(here);
  uint32_t big = Iov(Put(std::string(8192, 'y')), 8192);
  r = CallWithLostSignal(
      kDeadline, [&] { return Call("fd_write", 0u, big, 1u, n); }, Drain(here));
  ExpectEndedAtTheDeadline(r, ctx_);
  close(here);
}

TEST_F(WasiHostileTest, InheritedSocketStdioIsNoSocketToTheGuest) {
  // What `aether run` gets from Node's child_process or from systemd socket
  // activation.
  int s[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s), 0);
  int peer = s[1];
  ReplacedStdin in(s[0]);
  WasiOptions o;
  o.inherit_stdio = true;
  Init(o);
  uint32_t st = Alloc(24), fs = Alloc(64), p = Alloc(16);
  ASSERT_EQ(Call("fd_fdstat_get", 0u, st), 0u);
  EXPECT_NE(mem_[st], 5) << "reported as a datagram socket";
  EXPECT_NE(mem_[st], 6) << "reported as a stream socket";
  ASSERT_EQ(Call("fd_filestat_get", 0u, fs), 0u);
  EXPECT_EQ(mem_[fs + 16], mem_[st]) << "filestat and fdstat disagree on the type";

  EXPECT_EQ(Call("sock_shutdown", 0u, 3u), kEnotsock);
  EXPECT_EQ(Call("sock_recv", 0u, Iov(p, 1), 1u, 0u, p + 8, p + 12), kEnotsock);
  EXPECT_EQ(Call("sock_send", 0u, Iov(p, 1), 1u, 0u, p + 8), kEnotsock);
  EXPECT_EQ(Call("sock_accept", 0u, 0u, p + 8), kEnotsock);

  // The host's socket is untouched: both directions still flow.
  ASSERT_EQ(write(peer, "ping", 4), 4);
  EXPECT_EQ(Read(0, 4), "ping");
  ASSERT_EQ(Write(0, "pong"), 0u);
  char got[8] = {};
  EXPECT_EQ(recv(peer, got, sizeof got, MSG_DONTWAIT), 4);
  EXPECT_STREQ(got, "pong");

  // And a read that waits for the peer ends at the deadline.
  uint32_t iov = Iov(Alloc(16), 16), n = Alloc(4);
  Timed r = CallWithLostSignal(
      kDeadline, [&] { return Call("fd_read", 0u, iov, 1u, n); }, Feed(peer));
  ExpectEndedAtTheDeadline(r, ctx_);
  close(peer);
}

}  // namespace
}  // namespace aether::wasm::testing
