#include "cli/workflow_build.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <thread>

#include "cli/remote.h"

namespace aether::cli {
namespace {

namespace fs = std::filesystem;

constexpr std::chrono::minutes kCompileTimeout{5};
constexpr size_t kMaxShownOutput = 16 * 1024;

bool HasHeader(const fs::path& dir) {
  std::error_code ec;
  return !dir.empty() && fs::is_regular_file(dir / "aether.h", ec);
}

// functions/sdk in `start` or any of its parents.
std::string InTreeSdk(const fs::path& start) {
  if (start.empty()) return "";
  std::error_code ec;
  fs::path dir = fs::absolute(start, ec).lexically_normal();
  if (ec) return "";
  for (;;) {
    fs::path candidate = dir / "functions" / "sdk";
    if (HasHeader(candidate)) return candidate.string();
    if (!dir.has_relative_path()) return "";  // reached the root
    dir = dir.parent_path();
  }
}

Result<std::string> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgument(std::strerror(errno));
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return InvalidArgument(std::strerror(errno));
  return bytes;
}

std::string Trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

// Runs argv[0] (a path) with stdout and stderr into `log`, stdin empty.
// The exit status, or -1 after a signal or the timeout (then it is killed by
// its PID).
Result<int> RunTool(const std::vector<std::string>& args, const std::string& log) {
  std::vector<std::string> storage = args;
  std::vector<char*> argv;
  for (std::string& a : storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return Internal(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int in = ::open("/dev/null", O_RDONLY);
    if (out < 0 || in < 0) ::_exit(127);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(out, 2);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + kCompileTimeout;
  int status = 0;
  for (;;) {
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) return Internal(std::string("waitpid: ") + std::strerror(errno));
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

class ToolchainBuilder : public ModuleBuilder {
 public:
  ToolchainBuilder(Toolchain tc, std::string spec_file)
      : tc_(std::move(tc)), spec_file_(std::move(spec_file)) {}
  ~ToolchainBuilder() override {
    if (!tmp_.empty()) {
      std::error_code ec;
      fs::remove_all(tmp_, ec);
    }
  }

  Result<std::string> Build(const CodeRef& ref) override {
    if (auto it = built_.find(ref.path); it != built_.end()) return it->second;
    std::string where = spec_file_ + ": " + ref.field + ": ";
    std::string module;
    if (ref.kind == CodeKind::kWasm) {
      auto bytes = ReadAll(ref.path);
      if (!bytes.ok()) {
        return InvalidArgument(where + "cannot read " + ref.path + ": " + bytes.status().message());
      }
      module = std::move(bytes).value();
    } else {
      ASSIGN_OR_RETURN(module, Compile(ref, where));
    }
    if (module.empty()) return InvalidArgument(where + ref.path + " is empty");
    built_[ref.path] = module;
    return module;
  }

 private:
  Result<std::string> Compile(const CodeRef& ref, const std::string& where) {
    bool is_c = ref.kind == CodeKind::kC;
    if (is_c && tc_.clang.empty()) {
      return FailedPrecondition(where + "cannot compile " + ref.written +
                                ": clang-14 is not installed (Debian: apt-get install clang-14 "
                                "lld-14 wasi-libc libclang-rt-14-dev-wasm32; or `make deps`)");
    }
    if (!is_c && (tc_.rustc.empty() || tc_.wasm_ld.empty())) {
      std::string missing = tc_.rustc.empty() ? "rustc" : "wasm-ld-14";
      return FailedPrecondition(where + "cannot compile " + ref.written + ": " + missing +
                                " is not installed (Debian: apt-get install rustc "
                                "libstd-rust-dev-wasm32 lld-14)");
    }
    if (tmp_.empty()) {
      const char* base = std::getenv("TMPDIR");
      std::string pattern =
          std::string(base != nullptr && *base ? base : "/tmp") + "/aether-workflow-XXXXXX";
      if (::mkdtemp(pattern.data()) == nullptr) {
        return Internal(where + "cannot create a build directory: " + std::strerror(errno));
      }
      tmp_ = pattern;
    }
    std::string stem = fs::path(ref.path).stem().string();
    std::string out = tmp_ + "/" + std::to_string(ref.index) + "-" + stem + ".wasm";
    std::string log = out + ".log";
    std::vector<std::string> cmd = BuildCommand(ref, tc_, out);
    ASSIGN_OR_RETURN(int code, RunTool(cmd, log));
    auto log_text = ReadAll(log);
    std::string output = log_text.ok() ? Trimmed(std::move(log_text).value()) : "";
    if (code != 0) {
      std::string tool = fs::path(cmd[0]).filename().string();
      std::string why = code == 127 && output.empty() ? "could not be started"
                        : code < 0                    ? "was killed (timeout or signal)"
                                   : "exited with status " + std::to_string(code);
      std::string hint;
      if (is_c && tc_.sdk_dir.empty() && output.find("aether.h") != std::string::npos) {
        hint = " (the Aether SDK was not found: pass --sdk DIR or set AETHER_SDK)";
      }
      if (output.size() > kMaxShownOutput) {
        output = output.substr(0, kMaxShownOutput) + "\n... (" +
                 std::to_string(output.size() - kMaxShownOutput) + " more bytes)";
      }
      return FailedPrecondition(where + "compiling " + ref.written + " failed: " + tool + " " +
                                why + hint + (output.empty() ? "" : ":\n" + output));
    }
    auto bytes = ReadAll(out);
    if (!bytes.ok()) {
      return Internal(where + "the compiler wrote no module " + out + ": " +
                      bytes.status().message());
    }
    return std::move(bytes).value();
  }

  Toolchain tc_;
  std::string spec_file_;
  std::string tmp_;                           // created on the first compile
  std::map<std::string, std::string> built_;  // source path -> module
};

}  // namespace

Result<std::string> FindSdkDir(const SdkSearch& s) {
  if (!s.flag.empty()) {
    if (!HasHeader(s.flag))
      return UsageError("--sdk " + s.flag + ": no aether.h in that directory");
    return s.flag;
  }
  if (!s.env.empty()) {
    if (!HasHeader(s.env)) {
      return UsageError("AETHER_SDK=" + s.env + ": no aether.h in that directory");
    }
    return s.env;
  }
  if (std::string d = InTreeSdk(s.spec_dir); !d.empty()) return d;
  if (std::string d = InTreeSdk(s.cwd); !d.empty()) return d;
  if (!s.exe.empty()) {
    fs::path exe_dir = fs::path(s.exe).parent_path();
    fs::path installed = (exe_dir / ".." / "share" / "aether" / "sdk").lexically_normal();
    if (HasHeader(installed)) return installed.string();
    if (std::string d = InTreeSdk(exe_dir); !d.empty()) return d;
  }
  for (const std::string& d : s.system) {
    if (HasHeader(d)) return d;
  }
  return std::string();
}

std::string FindProgram(const std::string& name, const std::string& path_env) {
  size_t start = 0;
  while (start <= path_env.size()) {
    size_t end = path_env.find(':', start);
    if (end == std::string::npos) end = path_env.size();
    std::string dir = path_env.substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + name;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    start = end + 1;
  }
  return "";
}

Toolchain FindToolchain(std::string sdk_dir) {
  const char* p = std::getenv("PATH");
  std::string path = p != nullptr ? p : "/usr/local/bin:/usr/bin:/bin";
  Toolchain tc;
  tc.clang = FindProgram("clang-14", path);
  if (tc.clang.empty()) tc.clang = FindProgram("clang", path);
  // Debian's rustc has the wasm32-wasi standard library (libstd-rust-dev-wasm32);
  // a rustup rustc earlier on PATH may not.
  tc.rustc = FindProgram("rustc", "/usr/bin");
  if (tc.rustc.empty()) tc.rustc = FindProgram("rustc", path);
  tc.wasm_ld = FindProgram("wasm-ld-14", path);
  if (tc.wasm_ld.empty()) tc.wasm_ld = FindProgram("wasm-ld", path);
  tc.sdk_dir = std::move(sdk_dir);
  return tc;
}

std::vector<std::string> BuildCommand(const CodeRef& ref, const Toolchain& tc,
                                      const std::string& out) {
  if (ref.kind == CodeKind::kRust) {
    return {tc.rustc,
            "--edition",
            "2021",
            "--target",
            "wasm32-wasi",
            "--crate-type",
            "cdylib",
            "-C",
            "opt-level=2",
            "-C",
            "strip=debuginfo",
            "-C",
            "linker=" + tc.wasm_ld,
            "-o",
            out,
            ref.path};
  }
  std::vector<std::string> cmd = {tc.clang, "--target=wasm32-wasi", "--sysroot=/usr", "-O2",
                                  "-mexec-model=reactor"};
  if (!tc.sdk_dir.empty()) cmd.push_back("-I" + tc.sdk_dir);
  cmd.insert(cmd.end(), {"-Wl,--strip-debug", "-o", out, ref.path});
  return cmd;
}

std::unique_ptr<ModuleBuilder> NewToolchainBuilder(Toolchain tc, std::string spec_file) {
  return std::make_unique<ToolchainBuilder>(std::move(tc), std::move(spec_file));
}

}  // namespace aether::cli
