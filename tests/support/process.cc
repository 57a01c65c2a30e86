#include "process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "common/http_client.h"

extern char** environ;

namespace aether::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

Result<pid_t> Spawn(const std::string& binary, const std::vector<std::string>& args,
                    const std::string& log_path) {
  std::vector<std::string> argv_storage;
  argv_storage.push_back(binary);
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  argv.reserve(argv_storage.size() + 1);
  for (auto& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return Internal("cannot start " + binary + ": " + std::strerror(rc));
  return pid;
}

std::string Tail(const std::string& text, size_t n = 2000) {
  return text.size() > n ? text.substr(text.size() - n) : text;
}

}  // namespace

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "aether-it-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

void WriteFile(const std::string& path, std::string_view content) {
  std::string tmp = path + ".tmp-write";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
  }
  fs::rename(tmp, path);
}

namespace {

// One ephemeral port from the kernel: bound to port 0, then closed.
uint16_t EphemeralPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  ::close(fd);
  return port;
}

}  // namespace

uint16_t FreePort() {
  // The kernel may hand out a port it just handed out, once it is closed
  // again: a 3-member etcd got the same peer port for two members. Never
  // the same port twice in one test process.
  static std::mutex mu;
  static std::set<uint16_t> given;
  std::lock_guard lock(mu);
  for (int attempt = 0; attempt < 100; ++attempt) {
    uint16_t port = EphemeralPort();
    if (port == 0) return 0;
    if (given.insert(port).second) return port;
  }
  return 0;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

ExitResult RunToExit(const std::string& binary, const std::vector<std::string>& args,
                     std::chrono::milliseconds timeout) {
  TempDir dir;
  std::string log = dir / "out.log";
  ExitResult result;
  Result<pid_t> pid = Spawn(binary, args, log);
  if (!pid.ok()) {
    result.output = pid.status().message();
    return result;
  }
  auto deadline = Clock::now() + timeout;
  int status = 0;
  for (;;) {
    pid_t r = ::waitpid(*pid, &status, WNOHANG);
    if (r == *pid) {
      result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      break;
    }
    if (Clock::now() > deadline) {
      ::kill(*pid, SIGKILL);
      ::waitpid(*pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  result.output = ReadFile(log);
  return result;
}

Result<std::unique_ptr<ServerProcess>> ServerProcess::Start(const std::string& binary,
                                                            const std::vector<std::string>& args,
                                                            const std::string& log_path,
                                                            std::chrono::milliseconds timeout) {
  static const std::regex kListening(R"(listening on (https?://[0-9.]+:([0-9]+)))");
  std::string url;
  auto ready = [&url](const std::string& log) -> uint16_t {
    std::smatch m;
    if (!std::regex_search(log, m, kListening)) return 0;
    url = m[1];
    auto health = NewHttpClient()->Fetch("GET", url + "/health", {}, {}, std::chrono::seconds(2));
    return health.ok() && health->status == 200 ? static_cast<uint16_t>(std::stoi(m[2])) : 0;
  };
  ASSIGN_OR_RETURN(std::unique_ptr<ServerProcess> p,
                   StartWhen(binary, args, log_path, ready, timeout));
  p->url_ = url;
  return p;
}

Result<std::unique_ptr<ServerProcess>> ServerProcess::StartWhen(
    const std::string& binary, const std::vector<std::string>& args, const std::string& log_path,
    const ReadyCheck& ready, std::chrono::milliseconds timeout) {
  ASSIGN_OR_RETURN(pid_t pid, Spawn(binary, args, log_path));
  std::unique_ptr<ServerProcess> p(new ServerProcess(pid, log_path));
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (!p->Running()) {
      return Unavailable("the process exited with code " + std::to_string(p->exit_code_) +
                         " before it was ready:\n" + Tail(p->Log()));
    }
    p->port_ = ready(p->Log());
    if (p->port_ != 0) return p;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return Unavailable("the process did not become ready in time:\n" + Tail(p->Log()));
}

ServerProcess::~ServerProcess() { Stop(); }

std::string ServerProcess::Log() const { return ReadFile(log_path_); }

bool ServerProcess::Reap(bool block, int* exit_code) {
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
  if (r != pid_) return false;
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return true;
}

bool ServerProcess::Running() {
  if (!exited_ && Reap(false, &exit_code_)) exited_ = true;
  return !exited_;
}

int ServerProcess::Stop(std::chrono::milliseconds timeout) {
  if (!Running()) return exit_code_;
  ::kill(pid_, SIGTERM);
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (!Running()) return exit_code_;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid_, SIGKILL);
  Reap(true, &exit_code_);
  exited_ = true;
  exit_code_ = -1;
  return exit_code_;
}

Result<HttpResponse> Http(std::string_view method, const std::string& url, std::string_view body) {
  return NewHttpClient()->Fetch(method, url, body, {}, std::chrono::seconds(30));
}

CliRun RunCli(const std::vector<std::string>& args, const CliOptions& o) {
  TempDir io;
  WriteFile(io / "in", o.stdin_text);
  std::vector<std::string> env_storage;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv = *e;
    std::string key = kv.substr(0, kv.find('='));
    if (key.rfind("AETHER_", 0) == 0 || key == "HOME" || key == "XDG_CONFIG_HOME" ||
        o.env.contains(key)) {
      continue;
    }
    env_storage.push_back(kv);
  }
  env_storage.push_back("HOME=" + io.path());
  for (const auto& [k, v] : o.env) env_storage.push_back(std::string(k).append("=").append(v));
  std::vector<char*> envp;
  envp.reserve(env_storage.size() + 1);
  for (auto& s : env_storage) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_storage = {std::string(AETHER_BIN_DIR) + "/aether"};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  argv.reserve(argv_storage.size() + 1);
  for (auto& s : argv_storage) argv.push_back(s.data());
  argv.push_back(nullptr);
  std::string in = io / "in", out = io / "out", err = io / "err";

  pid_t pid = ::fork();
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    if (!o.cwd.empty() && ::chdir(o.cwd.c_str()) != 0) ::_exit(127);
    int fd_in = ::open(in.c_str(), O_RDONLY);
    int fd_out = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int fd_err = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd_in < 0 || fd_out < 0 || fd_err < 0) ::_exit(127);
    ::dup2(o.stdio_fd >= 0 ? o.stdio_fd : fd_in, 0);
    ::dup2(o.stdio_fd >= 0 ? o.stdio_fd : fd_out, 1);
    ::dup2(fd_err, 2);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  CliRun r;
  if (pid < 0) return r;
  auto deadline = Clock::now() + o.timeout;
  int status = 0;
  for (;;) {
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      break;
    }
    if (Clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  r.out = ReadFile(out);
  r.err = ReadFile(err);
  return r;
}

std::string Show(const CliRun& r) {
  return "exit " + std::to_string(r.exit_code) + "\n--- stdout\n" + r.out + "--- stderr\n" + r.err;
}

}  // namespace aether::testing
