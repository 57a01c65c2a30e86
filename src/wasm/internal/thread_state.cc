#include "wasm/internal/thread_state.h"

#include <signal.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "wasm/guest_thread.h"
#include "wasm/internal/guard.h"
#include "wasm/internal/memory_pool.h"

namespace aether::wasm {
namespace {

constexpr size_t kAltStackSize = 64 * 1024;
constexpr uintptr_t kHostStackReserve = 256 * 1024;
constexpr size_t kGuestStackSize = 8u << 20;
constexpr size_t kGuestGuardSize = 1u << 20;

int TimeoutSignal() { return SIGRTMIN + 3; }

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// Owns the ThreadState of one thread; deregisters it from the watchdog when
// the thread ends.
struct ThreadSlot {
  ThreadState state;
  ~ThreadSlot();
};

thread_local ThreadSlot tls_slot;
// A plain pointer too, so signal handlers read it without running the
// thread_local initialisation guard.
thread_local ThreadState* tls_state = nullptr;

// Interrupts guests past their deadline. It must not cost every execution a
// wake-up: at 100k microsecond executions a second, a futex wake and a
// context switch each were a tenth of the engine's CPU. So an arm wakes the
// watchdog only when its next scan would come too late for the new deadline
// (more than kSlackNs after it), and while guests keep arriving the
// watchdog scans on its own pace (the shortest timeout recently armed), so
// a deadline armed after a scan always falls before the next one plus the
// slack. A guest is interrupted at most kSlackNs (plus scheduling) late.
class Watchdog {
 public:
  void Register(ThreadState* st) {
    std::lock_guard<std::mutex> lock(mu_);
    watched_.push_back({st, st->deadline_ns.load(std::memory_order_relaxed)});
    if (!started_) {
      started_ = true;
      std::thread([this] { Loop(); }).detach();  // lives as long as the process
    }
  }
  void Unregister(ThreadState* st) {
    std::lock_guard<std::mutex> lock(mu_);
    std::erase_if(watched_, [st](const Watched& w) { return w.st == st; });
  }
  void Armed(int64_t deadline) {
    // While it scans, next_wake_ is kScanning (above every deadline), so an
    // arm it may have missed always notifies. The store of `armed` before
    // this load and the watchdog's store of kScanning before it loads
    // `armed` are both seq_cst, so at least one side sees the other (a
    // relaxed pair can miss both ways, and the guest then runs forever).
    int64_t latest = deadline > INT64_MAX - kSlackNs ? INT64_MAX : deadline + kSlackNs;
    if (latest < next_wake_.load(std::memory_order_seq_cst)) {
      std::lock_guard<std::mutex> lock(mu_);
      cv_.notify_one();
    }
  }
  uint64_t scans() const { return scans_.load(std::memory_order_relaxed); }

 private:
  static constexpr int64_t kSlackNs = 250'000;
  static constexpr int64_t kMinPaceNs = 100'000;
  static constexpr int64_t kMaxPaceNs = 100'000'000;
  // Without arms for this long, the watchdog sleeps until the next one.
  static constexpr int64_t kLingerNs = 200'000'000;
  static constexpr int64_t kScanning = INT64_MAX;

  struct Watched {
    ThreadState* st;
    int64_t seen_deadline;  // changes with every arm of that thread
  };

  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    int64_t pace = kMaxPaceNs;
    int64_t last_arm = -kLingerNs;
    for (;;) {
      scans_.fetch_add(1, std::memory_order_relaxed);
      int64_t now = NowNs();
      int64_t next = INT64_MAX;
      int64_t shortest = INT64_MAX;  // timeout of the arms since the last scan
      for (Watched& w : watched_) {
        ThreadState* st = w.st;
        uint64_t gen = st->armed.load(std::memory_order_seq_cst);
        int64_t d = st->deadline_ns.load(std::memory_order_relaxed);
        if (d != w.seen_deadline) {
          w.seen_deadline = d;
          shortest = std::min(shortest, st->timeout_ns.load(std::memory_order_relaxed));
        }
        if (gen == 0 || (gen & ThreadState::kFired)) continue;
        if (d <= now) {
          if (st->armed.compare_exchange_strong(gen, gen | ThreadState::kFired)) {
            pthread_kill(st->thread, TimeoutSignal());
          }
        } else {
          next = std::min(next, d);
        }
      }
      if (shortest != INT64_MAX) {
        pace = std::clamp(shortest, kMinPaceNs, kMaxPaceNs);
        last_arm = now;
      }
      if (now - last_arm < kLingerNs) next = std::min(next, now + pace);
      next_wake_.store(next, std::memory_order_relaxed);
      if (next == INT64_MAX) {
        cv_.wait(lock);
      } else {
        cv_.wait_for(lock, std::chrono::nanoseconds(next - now));
      }
      next_wake_.store(kScanning, std::memory_order_seq_cst);
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Watched> watched_;
  std::atomic<int64_t> next_wake_{kScanning};
  std::atomic<uint64_t> scans_{0};
  bool started_ = false;
};

Watchdog& TheWatchdog() {
  static Watchdog* w = new Watchdog();  // never destroyed: threads may outlive statics
  return *w;
}

ThreadSlot::~ThreadSlot() {
  if (state.prepared) {
    TheWatchdog().Unregister(&state);
    tls_state = nullptr;
    stack_t ss{};
    ss.ss_flags = SS_DISABLE;
    sigaltstack(&ss, nullptr);
    munmap(state.altstack, kAltStackSize);
  }
}

// The SIGSEGV and SIGBUS actions in place before ours: the default, or a
// sanitizer's handler that reports the fault with a stack trace. Written
// once, before our handlers are installed (InstallSignalHandlers).
struct sigaction prev_segv_action;
struct sigaction prev_bus_action;

void Crash(int sig) {
  // Not a guest fault: put back the action from before us; returning
  // re-executes the faulting instruction, which then reaches it (the
  // default kills the process with a core; ASan reports, then exits).
  sigaction(sig, sig == SIGBUS ? &prev_bus_action : &prev_segv_action, nullptr);
}

void OnFault(int sig, siginfo_t* info, void* /*ucontext*/) {
  // A guest's (or a host call's) first write to a page of its memory: the
  // page is recorded and the write runs again (memory_pool.h).
  if (sig == SIGSEGV && TrackFirstWrite(info->si_addr)) return;
  ThreadState* st = tls_state;
  if (st == nullptr || st->phase == ThreadState::kIdle || !aether_guard_active()) {
    Crash(sig);
    return;
  }
  auto addr = reinterpret_cast<uintptr_t>(info->si_addr);
  auto base = reinterpret_cast<uintptr_t>(st->memory_base);
  if (base != 0 && addr >= base && addr < base + kReservationSize) {
    st->trap = TrapKind::kOutOfBounds;
    aether_guard_jump(1);
  }
  if (addr >= st->guard_lo - 65536 && addr < st->stack_lo + 4096) {
    st->trap = TrapKind::kStackExhausted;
    aether_guard_jump(1);
  }
  Crash(sig);
}

void OnTimeout(int /*sig*/, siginfo_t* /*info*/, void* /*ucontext*/) {
  ThreadState* st = tls_state;
  if (st == nullptr) return;
  if (!(st->armed.load(std::memory_order_acquire) & ThreadState::kFired)) return;  // stale
  if (st->ctx == nullptr) return;
  if (st->phase == ThreadState::kGuest && st->ctx->hdr.in_host == 0 && aether_guard_active()) {
    st->trap = TrapKind::kTimeout;
    st->ctx->hdr.unwind = AETHER_UNWIND_TIMEOUT;
    aether_guard_jump(2);
  }
  // Inside a host or runtime call: it checks `unwind` when it returns to
  // the guest; a blocking system call returns EINTR first.
  st->ctx->hdr.unwind = AETHER_UNWIND_TIMEOUT;
}

}  // namespace

ThreadState* CurrentThreadState() { return tls_state; }

void InstallSignalHandlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = &OnFault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &prev_segv_action);
    sigaction(SIGBUS, &sa, &prev_bus_action);
    struct sigaction st {};
    st.sa_sigaction = &OnTimeout;
    // No SA_RESTART: a host call blocked in a system call returns EINTR.
    st.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&st.sa_mask);
    sigaction(TimeoutSignal(), &st, nullptr);
  });
}

void PrepareCurrentThread() {
  ThreadState& st = tls_slot.state;
  if (st.prepared) return;
  st.thread = pthread_self();
  pthread_attr_t attr;
  void* addr = nullptr;
  size_t size = 0;
  size_t guard = 0;
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    pthread_attr_getstack(&attr, &addr, &size);
    pthread_attr_getguardsize(&attr, &guard);
    pthread_attr_destroy(&attr);
  }
  st.stack_lo = reinterpret_cast<uintptr_t>(addr);
  st.guard_lo = st.stack_lo - std::max<size_t>(guard, 4096);
  st.stack_floor = st.stack_lo + std::min<uintptr_t>(kHostStackReserve, size / 4);
  st.altstack =
      mmap(nullptr, kAltStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (st.altstack == MAP_FAILED) {
    std::fprintf(stderr, "aether: cannot allocate a signal stack\n");
    std::abort();
  }
  stack_t ss{};
  ss.ss_sp = st.altstack;
  ss.ss_size = kAltStackSize;
  sigaltstack(&ss, nullptr);
  tls_state = &st;
  st.prepared = true;
  TheWatchdog().Register(&st);
}

void ArmWatchdog(ThreadState* st, std::chrono::nanoseconds timeout) {
  int64_t deadline = NowNs() + timeout.count();
  st->timeout_ns.store(timeout.count(), std::memory_order_relaxed);
  st->deadline_ns.store(deadline, std::memory_order_relaxed);
  st->generation = (st->generation + 1) & ~ThreadState::kFired;
  if (st->generation == 0) st->generation = 1;
  st->armed.store(st->generation, std::memory_order_seq_cst);  // see Watchdog::Armed
  TheWatchdog().Armed(deadline);
}

void DisarmWatchdog(ThreadState* st) { st->armed.store(0, std::memory_order_release); }

uint64_t WatchdogScans() { return TheWatchdog().scans(); }

// ---- GuestThread ----------------------------------------------------------

namespace {
thread_local bool tls_guest_thread = false;

void* GuestThreadMain(void* arg) {
  std::unique_ptr<std::function<void()>> fn(static_cast<std::function<void()>*>(arg));
  tls_guest_thread = true;
  (*fn)();
  return nullptr;
}
}  // namespace

bool OnGuestThread() { return tls_guest_thread; }

GuestThread::GuestThread(std::function<void()> fn) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, kGuestStackSize);
  pthread_attr_setguardsize(&attr, kGuestGuardSize);
  auto* heap_fn = new std::function<void()>(std::move(fn));
  int rc = pthread_create(&thread_, &attr, &GuestThreadMain, heap_fn);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    delete heap_fn;
    std::fprintf(stderr, "aether: cannot start a guest thread: %s\n", std::strerror(rc));
    std::abort();
  }
  joinable_ = true;
}

GuestThread::~GuestThread() { Join(); }

void GuestThread::Join() {
  if (joinable_) {
    pthread_join(thread_, nullptr);
    joinable_ = false;
  }
}

}  // namespace aether::wasm
