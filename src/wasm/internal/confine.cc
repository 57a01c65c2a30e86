#include "wasm/internal/confine.h"

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "common/sanitizers.h"

namespace aether::wasm {
namespace {

#if defined(__x86_64__)
constexpr uint32_t kAuditArch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
constexpr uint32_t kAuditArch = AUDIT_ARCH_AARCH64;
#else
#error "seccomp filter: unsupported architecture"
#endif

Status Errno(const char* what) { return Internal(std::string(what) + ": " + std::strerror(errno)); }

Status SetLimit(int resource, uint64_t value, const char* name) {
  rlimit rl{value, value};
  if (setrlimit(resource, &rl) != 0) return Errno(name);
  return OkStatus();
}

// The RLIMIT_AS that bounds this process (and the C compiler it starts) to
// `memory_bytes`. Under AddressSanitizer (scripts/sanitize.sh) the process
// has mapped ~20 TB of shadow and allocator space before main(), so an
// absolute limit would fail every later mmap: count from what is mapped
// now instead. That bounds large allocations (ASan maps each one), not
// small ones, which come from the allocator's region reserved at start-up,
// nor the C compiler it starts, which inherits the ~20 TB. A test build's
// trade; production builds keep the exact limit.
uint64_t AddressSpaceLimit(uint64_t memory_bytes) {
  if (!AETHER_ASAN) return memory_bytes;
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmSize:", 0) == 0) return std::stoull(line.substr(7)) * 1024 + memory_bytes;
  }
  return memory_bytes;
}

// Landlock ABI features newer than Debian 12's <linux/landlock.h>.
constexpr uint64_t kAccessFsTruncate = 1ull << 14;  // ABI 3
constexpr uint64_t kAccessFsIoctlDev = 1ull << 15;  // ABI 5
constexpr uint64_t kAccessNetBindTcp = 1ull << 0;   // ABI 4
constexpr uint64_t kAccessNetConnectTcp = 1ull << 1;
constexpr uint64_t kScopeAbstractUnix = 1ull << 0;  // ABI 6
constexpr uint64_t kScopeSignal = 1ull << 1;

struct RulesetAttr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net;
  uint64_t scoped;
};

Result<int> ApplyLandlock(const std::string& job_dir) {
  long abi = syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  if (abi < 1) return 0;  // not built in, or disabled at boot
  uint64_t write_fs = LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR |
                      LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_CHAR |
                      LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |
                      LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO |
                      LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SYM;
  if (abi >= 2) write_fs |= LANDLOCK_ACCESS_FS_REFER;
  if (abi >= 3) write_fs |= kAccessFsTruncate;
  if (abi >= 5) write_fs |= kAccessFsIoctlDev;
  RulesetAttr attr{write_fs, 0, 0};
  size_t size = sizeof(uint64_t);
  if (abi >= 4) {
    attr.handled_access_net = kAccessNetBindTcp | kAccessNetConnectTcp;
    size = 2 * sizeof(uint64_t);
  }
  if (abi >= 6) {
    attr.scoped = kScopeAbstractUnix | kScopeSignal;
    size = sizeof(RulesetAttr);
  }
  int ruleset = static_cast<int>(syscall(SYS_landlock_create_ruleset, &attr, size, 0));
  if (ruleset < 0) return Errno("landlock_create_ruleset");
  auto allow = [&](const char* path, uint64_t access) -> Status {
    int fd = open(path, O_PATH | O_CLOEXEC);
    if (fd < 0) return Errno(path);
    landlock_path_beneath_attr rule{access, fd};
    long rc = syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc == 0 ? OkStatus() : Errno("landlock_add_rule");
  };
  Status st = allow(job_dir.c_str(), write_fs);
  // Compilers open /dev/null for writing; a file rule may only carry file rights.
  if (st.ok()) {
    uint64_t file_rights = LANDLOCK_ACCESS_FS_WRITE_FILE | (abi >= 3 ? kAccessFsTruncate : 0);
    st = allow("/dev/null", file_rights);
  }
  if (st.ok() && syscall(SYS_landlock_restrict_self, ruleset, 0) != 0) {
    st = Errno("landlock_restrict_self");
  }
  close(ruleset);
  if (!st.ok()) return st;
  return static_cast<int>(abi);
}

// System calls the compiler never needs and an exploited compiler would
// want. Everything else is allowed: the filter narrows the kernel surface,
// Landlock and the rlimits bound what the allowed calls can do.
std::vector<int> DeniedSyscalls(bool allow_exec) {
  std::vector<int> nr = {
      SYS_socket,
      SYS_socketpair,
      SYS_connect,
      SYS_bind,
      SYS_listen,
      SYS_accept,
      SYS_accept4,
      SYS_ptrace,
      SYS_process_vm_readv,
      SYS_process_vm_writev,
      SYS_kexec_load,
      SYS_kexec_file_load,
      SYS_init_module,
      SYS_finit_module,
      SYS_delete_module,
      SYS_mount,
      SYS_umount2,
      SYS_pivot_root,
      SYS_chroot,
      SYS_setns,
      SYS_unshare,
      SYS_bpf,
      SYS_perf_event_open,
      SYS_keyctl,
      SYS_add_key,
      SYS_request_key,
      SYS_userfaultfd,
      SYS_io_uring_setup,
      SYS_io_uring_enter,
      SYS_io_uring_register,
      SYS_personality,
      SYS_reboot,
      SYS_swapon,
      SYS_swapoff,
      SYS_syslog,
      SYS_acct,
      SYS_quotactl,
      SYS_open_by_handle_at,
      SYS_name_to_handle_at,
      SYS_kcmp,
      SYS_pidfd_getfd,
      SYS_fanotify_init,
      SYS_move_pages,
      SYS_migrate_pages,
      SYS_clock_settime,
      SYS_settimeofday,
      SYS_adjtimex,
      SYS_sethostname,
      SYS_setdomainname,
      SYS_process_madvise,
  };
  if (!allow_exec) {
    // clone and clone3: see ApplySeccomp.
    nr.insert(nr.end(), {SYS_execve, SYS_execveat});
#ifdef SYS_fork
    nr.insert(nr.end(), {SYS_fork, SYS_vfork});
#endif
  }
  return nr;
}

constexpr uint32_t kNamespaceFlags = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC |
                                     CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET |
                                     0x80 /* NEWTIME */;

Status ApplySeccomp(bool allow_exec) {
  std::vector<int> denied = DeniedSyscalls(allow_exec);
  std::vector<sock_filter> prog;
  // Wrong architecture (a 32-bit entry on a 64-bit kernel): kill.
  prog.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)));
  prog.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kAuditArch, 1, 0));
  prog.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
  prog.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)));
#if defined(__x86_64__)
  // The x32 ABI's numbers alias the 64-bit ones with a high bit set.
  prog.push_back(BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1));
  prog.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
#endif
  if (!allow_exec) {
    // Threads but no processes: the fast tier runs tcc on a second thread
    // (compiler.h), which shares this filter, the Landlock domain and the
    // limits; a new process would be a second thing to confine. clone3
    // passes its flags in memory, which a filter cannot read: ENOSYS makes
    // glibc fall back to clone, whose flags it can. On clone: CLONE_THREAD
    // is required (it implies CLONE_VM and CLONE_SIGHAND) and no new
    // namespace is allowed.
    prog.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 0, 1));
    prog.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)));
    prog.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 0, 5));
    // The flags' low word (x86-64 and arm64 are little-endian; the kernel
    // reads only the low 32 bits of clone's flags).
    prog.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, args[0])));
    prog.push_back(BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_THREAD, 0, 2));
    prog.push_back(BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, kNamespaceFlags, 1, 0));
    prog.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
    prog.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)));
  }
  for (int nr : denied) {
    prog.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(nr), 0, 1));
    prog.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)));
  }
  prog.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  sock_fprog fprog{static_cast<unsigned short>(prog.size()), prog.data()};
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) != 0) return Errno("seccomp");
  return OkStatus();
}

}  // namespace

Result<ConfineReport> Confine(const ConfineOptions& o) {
  ConfineReport report;
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) return Errno("PR_SET_PDEATHSIG");
  if (close_range(3, ~0u, 0) != 0) {
    for (int fd = 3; fd < 1024; ++fd) close(fd);
  }
  RETURN_IF_ERROR(SetLimit(RLIMIT_CORE, 0, "RLIMIT_CORE"));
  RETURN_IF_ERROR(SetLimit(RLIMIT_NOFILE, 256, "RLIMIT_NOFILE"));
  RETURN_IF_ERROR(SetLimit(RLIMIT_FSIZE, o.max_file_bytes, "RLIMIT_FSIZE"));
  if (o.memory_bytes != 0) {
    RETURN_IF_ERROR(SetLimit(RLIMIT_AS, AddressSpaceLimit(o.memory_bytes), "RLIMIT_AS"));
  }
  if (o.cpu_seconds != 0) RETURN_IF_ERROR(SetLimit(RLIMIT_CPU, o.cpu_seconds, "RLIMIT_CPU"));
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return Errno("PR_SET_NO_NEW_PRIVS");
  if (prctl(PR_SET_DUMPABLE, 0) != 0) return Errno("PR_SET_DUMPABLE");
  ASSIGN_OR_RETURN(report.landlock_abi, ApplyLandlock(o.job_dir));
  RETURN_IF_ERROR(ApplySeccomp(o.allow_exec));
  report.seccomp = true;
  return report;
}

}  // namespace aether::wasm
