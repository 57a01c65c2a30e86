#include "wasm/internal/sandbox.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include "common/log.h"
#include "common/sanitizers.h"

#if AETHER_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

namespace aether::wasm {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kMaxAnswerBytes = 64ull << 20;

// glibc's malloc in the compiler process (and the C compiler it starts):
// a fresh process that builds megabytes of IR and C spends most of a small
// module's compile in page faults, which cost a lot on virtual machines.
// Transparent huge pages for the heap (hugetlb=1: madvise, so it works
// where THP is "madvise"), large blocks kept in the heap instead of mmap'd
// and unmapped for every growing buffer (mmap_threshold, trim_threshold),
// and the heap grown 32 MiB at a time: word_count's fast-tier compile took
// ~200 ms instead of ~390 ms on a loaded 2-core VM (docs/benchmarks.md).
// RLIMIT_AS still bounds it all.
constexpr const char* kMallocTunables =
    "GLIBC_TUNABLES=glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=33554432:"
    "glibc.malloc.trim_threshold=1073741824:glibc.malloc.top_pad=33554432:glibc.malloc.arena_max=1";
constexpr size_t kMaxStderrBytes = 4096;
// What a spare touches of its heap while it waits for its job (see
// --warm-heap in worker/compiler_main.cc): about what the fast-tier compile
// of a 150 KB module builds, so the first touch of those pages (zeroing
// them; on a VM, the host backing them too) is off the job's path. The
// cost: a waiting spare holds this much memory.
constexpr uint64_t kSpareWarmHeapBytes = 24ull << 20;

std::string Seconds(std::chrono::nanoseconds d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g s", std::chrono::duration<double>(d).count());
  return buf;
}

// Closes a descriptor when it goes out of scope.
struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(Fd&& o) noexcept : fd(o.fd) { o.fd = -1; }
  Fd& operator=(Fd&&) = delete;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
  void Close() {
    if (fd >= 0) close(fd);
    fd = -1;
  }
};

struct Spawned {
  pid_t pid = -1;
  Fd io;   // the parent's end of the worker's stdin/stdout
  Fd err;  // the worker's stderr
};

Result<Spawned> Spawn(const std::string& worker, const std::string& job_dir,
                      const CompileLimits& limits, bool allow_exec, uint64_t warm_heap = 0) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    return Internal(std::string("cannot create a socket pair: ") + std::strerror(errno));
  }
  int ep[2];
  if (pipe2(ep, O_CLOEXEC) != 0) {
    close(sv[0]);
    close(sv[1]);
    return Internal(std::string("cannot create a pipe: ") + std::strerror(errno));
  }
  Spawned s;
  s.io.fd = sv[0];
  s.err.fd = ep[0];
  Fd child_io{sv[1]};
  Fd child_err{ep[1]};

  auto cpu =
      static_cast<uint64_t>(std::ceil(std::chrono::duration<double>(limits.timeout).count())) + 1;
  std::vector<std::string> args = {
      worker,          "--job-dir",        job_dir, "--memory", std::to_string(limits.memory_bytes),
      "--cpu-seconds", std::to_string(cpu)};
  if (allow_exec) args.push_back("--exec");
  if (warm_heap > 0) {
    args.push_back("--warm-heap");
    args.push_back(std::to_string(warm_heap));
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // A minimal environment: nothing of the engine's (tokens, proxies) leaks
  // into the compiler, and the C compiler's temporaries stay in the job dir.
  std::vector<std::string> env = {"PATH=/usr/local/bin:/usr/bin:/bin", "LC_ALL=C",
                                  "TMPDIR=" + job_dir, "HOME=" + job_dir, kMallocTunables};
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, child_io.fd, 0);
  posix_spawn_file_actions_adddup2(&fa, child_io.fd, 1);
  posix_spawn_file_actions_adddup2(&fa, child_err.fd, 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Its own process group, so a timeout kills the C compiler's children
  // too; default signal handling and an empty mask whatever the engine uses.
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  int rc = posix_spawn(&s.pid, worker.c_str(), &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    return Internal("cannot start the compiler process " + worker + ": " + std::strerror(rc) +
                    " (it is installed beside aether-engine and aether-control)");
  }
  return s;
}

// Exchanges the request and the answer under the deadline. False when the
// deadline passed.
bool Exchange(Spawned& s, const std::string& request, Clock::time_point deadline,
              const JobControl* control, std::string* answer, std::string* err_text) {
  fcntl(s.io.fd, F_SETFL, O_NONBLOCK);
  size_t sent = 0;
  bool io_open = true;
  bool err_open = true;
  if (request.empty()) shutdown(s.io.fd, SHUT_WR);
  char buf[65536];
  while (io_open || err_open) {
    Clock::time_point until = control != nullptr ? deadline + control->Paused() : deadline;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p[2] = {{s.io.fd, 0, 0}, {s.err.fd, 0, 0}};
    if (io_open) p[0].events = static_cast<short>(POLLIN | (sent < request.size() ? POLLOUT : 0));
    if (err_open) p[1].events = POLLIN;
    int pr = poll(p, 2, static_cast<int>(std::min<int64_t>(left.count() + 1, 1000)));
    if (pr < 0 && errno != EINTR) return false;
    if (pr <= 0) continue;
    if (io_open && (p[0].revents & POLLOUT) && sent < request.size()) {
      ssize_t n = send(s.io.fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<size_t>(n);
        if (sent == request.size()) shutdown(s.io.fd, SHUT_WR);
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        sent = request.size();  // the worker went away; its exit status says why
      }
    }
    if (p[0].revents & POLLNVAL) io_open = false;
    if (p[1].revents & POLLNVAL) err_open = false;
    if (io_open && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t n = read(s.io.fd, buf, sizeof buf);
      if (n > 0 && answer->size() < kMaxAnswerBytes) answer->append(buf, static_cast<size_t>(n));
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) io_open = false;
    }
    if (err_open && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t n = read(s.err.fd, buf, sizeof buf);
      if (n > 0 && err_text->size() < kMaxStderrBytes) {
        err_text->append(buf, std::min(static_cast<size_t>(n), kMaxStderrBytes - err_text->size()));
      }
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) err_open = false;
    }
  }
  return true;
}

// Returns once `pid` has exited or at `deadline`, whichever is first (or
// after 1 ms on a kernel without pidfd_open): no polling interval on the
// path of every compile.
void WaitForExit(pid_t pid, Clock::time_point deadline) {
  int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return;
  }
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  pollfd p{fd, POLLIN, 0};
  (void)poll(&p, 1, static_cast<int>(std::clamp<int64_t>(left.count() + 1, 0, 1000)));
  close(fd);
}

// Waits for the worker to exit until the deadline. Killing the group first
// when asked: the worker is not reaped yet, so its pid (the group id) cannot
// have been reused.
int Reap(pid_t pid, Clock::time_point deadline, bool kill_first) {
  if (kill_first) kill(-pid, SIGKILL);
  int status = 0;
  for (;;) {
    pid_t r = waitpid(pid, &status, kill_first ? 0 : WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) return -1;
    if (r == 0) {
      if (Clock::now() >= deadline) {
        kill(-pid, SIGKILL);
        kill_first = true;
        continue;
      }
      WaitForExit(pid, deadline);
    }
  }
  // Stragglers of the group (a C compiler's child) go with it.
  kill(-pid, SIGKILL);
  return status;
}

// Reaps compiler processes that have answered and were killed, on a thread
// of its own: the kernel's teardown of one (tens of MB) took 1-3 ms on the
// path of every deploy's validation and every first response, and nothing
// waits for it. Never destroyed: a process may still be reaped while the
// program exits.
class Reaper {
 public:
  static Reaper& Get() {
    static Reaper* reaper = new Reaper();  // NOLINT(cppcoreguidelines-owning-memory): see above
    return *reaper;
  }

  // `pid` is our child, killed and not reaped yet.
  void Add(pid_t pid) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      pids_.push_back(pid);
      if (!started_) {
        started_ = true;
        std::thread([this] { Loop(); }).detach();
      }
    }
    cv_.notify_one();
  }

 private:
  void Loop() {
    for (;;) {
      pid_t pid = 0;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return !pids_.empty(); });
        pid = pids_.front();
        pids_.pop_front();
      }
      int status = 0;
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<pid_t> pids_;
  bool started_ = false;
};

std::string Excerpt(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  size_t nl = text.rfind('\n');
  if (nl != std::string::npos && text.size() - nl > 1) text = text.substr(nl + 1);
  return text.size() > 300 ? text.substr(0, 300) : text;
}

// A sanitizer's report of a bug (ASan, UBSan) in what the compiler process
// printed. Running out of compile_memory_limit is reported by ASan too (it
// cannot throw bad_alloc), and that one is the module's doing.
bool ReportsASanitizedBug(const std::string& err) {
  auto has = [&](const char* s) { return err.find(s) != std::string::npos; };
  if (has("out of memory") || has("out-of-memory") || has("allocation-size-too-big")) return false;
  return has("ERROR: AddressSanitizer") || has("runtime error:");
}

// In a sanitizer build (scripts/sanitize.sh), a bug found in the compiler
// process stops this process too, as loudly as one found here: refusing
// the module would hide it from the tests.
[[noreturn]] void StopOnCompilerBug(const std::string& err) {
#if AETHER_ASAN
  // Into this process's sanitizer output (ASAN_OPTIONS=log_path=...), where
  // scripts/sanitize.sh looks for reports.
  __sanitizer_report_error_summary(("in the compiler process:\n" + err).c_str());
#endif
  LOG_ERROR("the compiler process hit a sanitizer error (above): {}; aborting", Excerpt(err));
  std::abort();
}

}  // namespace

std::string DefaultWorkerPath() {
  std::error_code ec;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "aether-compiler";
  return (self.parent_path() / "aether-compiler").string();
}

Result<JobDir> JobDir::Create(const std::string& parent) {
  std::error_code ec;
  std::filesystem::create_directories(parent, ec);
  std::string templ = parent + "/job-XXXXXX";
  if (mkdtemp(templ.data()) == nullptr) {
    return Internal("cannot create a compile job directory in " + parent + ": " +
                    std::strerror(errno));
  }
  int fd = open(templ.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0) {
    Status s =
        Internal("cannot lock the compile job directory " + templ + ": " + std::strerror(errno));
    if (fd >= 0) close(fd);
    std::filesystem::remove_all(templ, ec);
    return s;
  }
  return JobDir(std::move(templ), fd);
}

JobDir::~JobDir() {
  if (path_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
  if (fd_ >= 0) close(fd_);
}

int JobDir::SweepAbandoned(const std::string& parent, std::chrono::seconds min_age) {
  std::error_code ec;
  const time_t now = time(nullptr);
  int removed = 0;
  // No such directory yet: nothing left behind. increment(ec): a range-for's
  // operator++ throws.
  for (std::filesystem::directory_iterator it(parent, ec), end; !ec && it != end;
       it.increment(ec)) {
    const std::filesystem::directory_entry& entry = *it;
    const std::string name = entry.path().filename().string();
    if (name.rfind("job-", 0) != 0) continue;
    // O_NOFOLLOW: a symlink named job-* is not followed out of `parent`.
    int fd = open(entry.path().c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) continue;
    struct stat st;
    if (fstat(fd, &st) == 0 && st.st_uid == geteuid() && now - st.st_mtime >= min_age.count() &&
        flock(fd, LOCK_EX | LOCK_NB) == 0) {
      std::error_code rm;
      std::filesystem::remove_all(entry.path(), rm);
      if (!rm) ++removed;
    }
    close(fd);
  }
  if (removed > 0) LOG_INFO("removed {} compile job directories left in {}", removed, parent);
  return removed;
}

namespace {

// Whether `r`, decoded from `answer`, is the process's own verdict: a
// result, or an error it reported about the module or its limits.
bool Answered(const Result<ModuleInfo>& r, const std::string& answer) {
  return !answer.empty() && (r.ok() || r.status().code() != Code::kInternal);
}

// The job on a started process `s`; `start` is when the job began (before
// the spawn, or now for a spare). `decided` is false when the process
// died without an answer before its deadline (signaled, or exited in
// silence): a spare may have been killed while it waited.
Result<ModuleInfo> Finish(Spawned& s, const std::string& worker_path, const WorkerRequest& request,
                          const CompileLimits& limits, int nice, StageTimes* stages,
                          Clock::time_point start, bool* decided, JobControl* control = nullptr) {
  auto deadline = start + limits.timeout;
  // Before the request is sent, so before the worker starts the C compiler
  // (which inherits it). Best effort: a failure only costs priority.
  if (nice > 0 && setpriority(PRIO_PROCESS, static_cast<id_t>(s.pid), std::min(nice, 19)) != 0) {
    LOG_DEBUG("cannot lower the compiler process's priority: {}", std::strerror(errno));
  }
  std::string answer, err_text;
  bool in_time = Exchange(s, EncodeRequest(request), deadline, control, &answer, &err_text);
  if (control != nullptr) {
    // Not stopped from now on; what it was stopped for does not count.
    deadline += control->Paused();
    control->Ended();
  }
  *decided = !in_time;
  s.io.Close();
  s.err.Close();
  WorkerTimings timings;
  Result<ModuleInfo> r = DecodeResult(answer, &timings);
  int status = 0;
  if (in_time && request.mode != WorkerMode::kOptimized && Answered(r, answer)) {
    // Its job is done and nothing it does from now on counts: its object
    // is copied out of its directory (ModuleCache::Publish). It goes now,
    // and is reaped off this path. (The optimizing compiler's children are
    // waited for as they were.)
    kill(-s.pid, SIGKILL);
    Reaper::Get().Add(s.pid);
  } else {
    status = Reap(s.pid, deadline + std::chrono::seconds(1), !in_time);
  }
  if (!in_time) {
    return InvalidArgument("the module took longer than " + Seconds(limits.timeout) +
                           " to compile ([runtime] compile_timeout); it is refused");
  }
  if (status < 0) return Internal("cannot wait for the compiler process");
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    // What it printed before dying (an ASan report in a sanitizer build)
    // is for whoever runs the engine, not for the client.
    if (!err_text.empty()) {
      LOG_WARN("the compiler process died by {}:\n{}", strsignal(sig), err_text);
    }
    if (AETHER_ASAN && ReportsASanitizedBug(err_text)) StopOnCompilerBug(err_text);
    if (sig == SIGXCPU || sig == SIGKILL) {
      return InvalidArgument("compiling the module used more CPU time than " +
                             Seconds(limits.timeout) +
                             " ([runtime] compile_timeout); it is refused");
    }
    return InvalidArgument(std::string("the compiler process crashed on the module (") +
                           strsignal(sig) +
                           "), often because it needs more memory than [runtime] "
                           "compile_memory_limit allows; it is refused");
  }
  *decided = !answer.empty();
  if (stages != nullptr && timings.main_ns != 0) {
    // The process's stages ran one after another from its main(). A spare
    // started before the job: only what lies after the job's start counts
    // (its start, confinement and part of its wait for the request do not).
    double at =
        StageTimes::Ms(Clock::time_point(std::chrono::nanoseconds(timings.main_ns)) - start);
    double started = std::max(0.0, at);
    stages->Add("start", started);
    double worker = 0;
    for (const auto& [name, ms] : timings.stages) {
      double counted = std::max(0.0, at + ms - std::max(at, 0.0));
      stages->Add(name, counted);
      worker += counted;
      at += ms;
    }
    stages->Add("exit", StageTimes::Ms(Clock::now() - start) - started - worker);
    stages->Skip();
  }
  if (!r.ok() && r.status().code() == Code::kInternal && answer.empty()) {
    return Internal("the compiler process " + worker_path + " exited with status " +
                    std::to_string(WEXITSTATUS(status)) + " without an answer" +
                    (err_text.empty() ? "" : ": " + Excerpt(err_text)));
  }
  if (!r.ok() && r.status().code() == Code::kResourceExhausted) {
    return InvalidArgument(r.status().message() + "; it is refused");
  }
  return r;
}

}  // namespace

Result<ModuleInfo> RunWorker(const std::string& worker_path, const WorkerRequest& request,
                             const std::string& job_dir, const CompileLimits& limits, int nice,
                             StageTimes* stages, JobControl* control) {
  auto start = Clock::now();
  ASSIGN_OR_RETURN(Spawned s,
                   Spawn(worker_path, job_dir, limits, request.mode == WorkerMode::kOptimized));
  if (control != nullptr) control->Started(s.pid);
  bool decided = false;
  return Finish(s, worker_path, request, limits, nice, stages, start, &decided, control);
}

struct SpareWorker::State {
  std::string worker_path;
  CompileLimits limits;
  JobDir job;
  Spawned s;
  bool done = false;  // reaped (ran its job, or found dead)
};

Result<std::unique_ptr<SpareWorker>> SpareWorker::Start(const std::string& worker_path, JobDir job,
                                                        const CompileLimits& limits) {
  ASSIGN_OR_RETURN(Spawned s, Spawn(worker_path, job.path(), limits, /*allow_exec=*/false,
                                    std::min(kSpareWarmHeapBytes, limits.memory_bytes / 4)));
  auto state = std::make_unique<State>(State{worker_path, limits, std::move(job), std::move(s)});
  return std::unique_ptr<SpareWorker>(new SpareWorker(std::move(state)));
}

SpareWorker::SpareWorker(std::unique_ptr<State> state) : state_(std::move(state)) {}

SpareWorker::~SpareWorker() {
  if (state_->done) return;
  // Never used: the whole group goes (it is not reaped yet, so its pid
  // cannot have been reused).
  kill(-state_->s.pid, SIGKILL);
  int status = 0;
  while (waitpid(state_->s.pid, &status, 0) < 0 && errno == EINTR) {
  }
}

const std::string& SpareWorker::job_dir() const { return state_->job.path(); }
pid_t SpareWorker::pid() const { return state_->s.pid; }

bool SpareWorker::Alive() {
  if (state_->done) return false;
  int status = 0;
  if (waitpid(state_->s.pid, &status, WNOHANG) == state_->s.pid) {
    state_->done = true;  // no exec, no fork: it had no children
    return false;
  }
  return true;
}

Result<ModuleInfo> SpareWorker::Run(const WorkerRequest& request, StageTimes* stages) {
  if (!Alive()) return Unavailable("the spare compiler process had exited");
  if (request.mode == WorkerMode::kOptimized) {
    return Internal("a spare compiler process cannot run the optimizing compiler");
  }
  state_->done = true;  // Finish reaps it whatever happens
  bool decided = false;
  Result<ModuleInfo> r = Finish(state_->s, state_->worker_path, request, state_->limits, 0, stages,
                                Clock::now(), &decided);
  // Killed or gone before it answered: maybe by the module (a crash: it
  // then costs two compiles, each bounded by the limits), maybe while it
  // waited (an operator's kill, the OOM killer). A fresh process decides.
  if (!decided && !r.ok()) return Unavailable(r.status().message());
  return r;
}

}  // namespace aether::wasm
