#include "wasm/internal/isolate.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>

namespace aether::wasm {
namespace {

constexpr auto kChildDeadline = std::chrono::seconds(60);

// A length-prefixed encoding of a Result<Translation>; both ends are this
// binary, so no versioning is needed.
void PutU64(std::string& out, uint64_t v) { out.append(reinterpret_cast<const char*>(&v), 8); }
void PutStr(std::string& out, const std::string& s) {
  PutU64(out, s.size());
  out.append(s);
}

std::string Encode(const Result<Translation>& r) {
  std::string out;
  if (!r.ok()) {
    PutU64(out, static_cast<uint64_t>(r.status().code()));
    PutStr(out, r.status().message());
    return out;
  }
  PutU64(out, 0);
  const Translation& t = r.value();
  PutU64(out, t.info.imports.size());
  for (const auto& i : t.info.imports) {
    PutStr(out, i.module);
    PutStr(out, i.name);
    PutStr(out, i.signature);
  }
  PutU64(out, t.info.export_funcs.size());
  for (const auto& [name, sig] : t.info.export_funcs) {
    PutStr(out, name);
    PutStr(out, sig);
  }
  PutU64(out, t.info.exports_memory ? 1 : 0);
  PutU64(out, t.info.initial_pages);
  PutU64(out, t.info.has_memory ? 1 : 0);
  PutStr(out, t.c_source);
  PutStr(out, t.c_header);
  return out;
}

class Reader {
 public:
  explicit Reader(const std::string& data) : data_(data) {}
  bool U64(uint64_t* v) {
    if (data_.size() - pos_ < 8) return false;
    std::memcpy(v, data_.data() + pos_, 8);
    pos_ += 8;
    return true;
  }
  bool Str(std::string* s) {
    uint64_t n = 0;
    if (!U64(&n) || data_.size() - pos_ < n) return false;
    s->assign(data_, pos_, n);
    pos_ += n;
    return true;
  }

 private:
  const std::string& data_;
  size_t pos_ = 0;
};

Result<Translation> Decode(const std::string& data) {
  Reader r(data);
  Status corrupt = Internal("module validation: the validator process returned garbage");
  uint64_t code = 0;
  if (!r.U64(&code)) return corrupt;
  if (code != 0) {
    std::string message;
    if (!r.Str(&message) || code > static_cast<uint64_t>(Code::kInternal)) return corrupt;
    return Status(static_cast<Code>(code), message);
  }
  Translation t;
  uint64_t n = 0;
  if (!r.U64(&n)) return corrupt;
  for (uint64_t i = 0; i < n; ++i) {
    FuncImportInfo imp;
    if (!r.Str(&imp.module) || !r.Str(&imp.name) || !r.Str(&imp.signature)) return corrupt;
    t.info.imports.push_back(std::move(imp));
  }
  if (!r.U64(&n)) return corrupt;
  for (uint64_t i = 0; i < n; ++i) {
    std::string name, sig;
    if (!r.Str(&name) || !r.Str(&sig)) return corrupt;
    t.info.export_funcs.emplace_back(std::move(name), std::move(sig));
  }
  uint64_t mem = 0, pages = 0, has_mem = 0;
  if (!r.U64(&mem) || !r.U64(&pages) || !r.U64(&has_mem)) return corrupt;
  t.info.exports_memory = mem != 0;
  t.info.initial_pages = pages;
  t.info.has_memory = has_mem != 0;
  if (!r.Str(&t.c_source) || !r.Str(&t.c_header)) return corrupt;
  return t;
}

bool WriteAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

std::string EncodeModuleInfo(const ModuleInfo& info) {
  Translation t;
  t.info = info;
  return Encode(t);
}

Result<ModuleInfo> DecodeModuleInfo(const std::string& data) {
  ASSIGN_OR_RETURN(Translation t, Decode(data));
  return std::move(t.info);
}

Result<Translation> RunIsolated(std::span<const uint8_t> wasm, bool emit_c, TranslateFn fn) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Internal("module validation: cannot create a pipe");
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return Internal("module validation: cannot fork");
  }
  if (pid == 0) {
    // Child: only the forking thread exists; do the work, send it, leave
    // without running destructors or atexit handlers of the parent's state.
    close(fds[0]);
    signal(SIGSEGV, SIG_DFL);
    signal(SIGBUS, SIG_DFL);
    signal(SIGABRT, SIG_DFL);
    // wabt's assertion text would only confuse the engine's log.
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (devnull >= 0) dup2(devnull, 2);
    std::string out = Encode(fn(wasm, emit_c));
    _exit(WriteAll(fds[1], out) ? 0 : 3);
  }
  close(fds[1]);
  std::string data;
  char buf[65536];
  auto deadline = std::chrono::steady_clock::now() + kChildDeadline;
  bool timed_out = false;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    int pr = poll(&p, 1, static_cast<int>(left.count()));
    if (pr < 0 && errno == EINTR) continue;
    if (pr <= 0) continue;
    ssize_t n = read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  if (timed_out) kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) return InvalidArgument("invalid module: validation did not finish within 60 s");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return InvalidArgument(
        "invalid module: the validator crashed on it (a known bug of libwabt 1.0.32 with some "
        "malformed modules); the module is rejected");
  }
  return Decode(data);
}

}  // namespace aether::wasm
