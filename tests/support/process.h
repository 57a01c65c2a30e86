// Helpers for integration tests that start the real binaries on 127.0.0.1:
// a temp directory, a child process that is always killed by PID, and
// one-line HTTP calls.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/http_server.h"
#include "common/result.h"

namespace aether::testing {

// A fresh directory under $TMPDIR, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

// A port free right now on 127.0.0.1 (bound to port 0, then closed; 0 when
// none could be had), for servers that cannot be told to pick one; never
// one it returned before in this process.
uint16_t FreePort();

// Writes `content` to `path` atomically (temp file + rename).
void WriteFile(const std::string& path, std::string_view content);
std::string ReadFile(const std::string& path);

// The result of a process run to completion.
struct ExitResult {
  int exit_code = -1;  // -1 when it did not exit in time (then it was killed)
  std::string output;  // stdout and stderr interleaved
};

// Runs `binary args...` to completion (killed after `timeout`).
ExitResult RunToExit(const std::string& binary, const std::vector<std::string>& args,
                     std::chrono::milliseconds timeout = std::chrono::seconds(10));

// A server process: stdout and stderr go to a log file; it is ready once it
// printed "listening on http://HOST:PORT" and GET /health answers 200.
// The destructor sends SIGTERM, waits up to 5 s, then SIGKILLs — by PID only.
class ServerProcess {
 public:
  // Errors: Internal when the binary cannot be started, Unavailable when it
  // exits or does not become ready within `timeout` (the message carries
  // the end of its log).
  static Result<std::unique_ptr<ServerProcess>> Start(
      const std::string& binary, const std::vector<std::string>& args, const std::string& log_path,
      std::chrono::milliseconds timeout = std::chrono::seconds(15));
  // A server that is not Aether's (nats-server, ...): ready once `ready`,
  // given its log so far, answers the port it listens on (0: not yet).
  // url() stays empty. Errors as Start's.
  using ReadyCheck = std::function<uint16_t(const std::string& log)>;
  static Result<std::unique_ptr<ServerProcess>> StartWhen(
      const std::string& binary, const std::vector<std::string>& args, const std::string& log_path,
      const ReadyCheck& ready, std::chrono::milliseconds timeout = std::chrono::seconds(15));
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  pid_t pid() const { return pid_; }
  uint16_t port() const { return port_; }
  const std::string& url() const { return url_; }  // "http://127.0.0.1:PORT"
  std::string Log() const;
  bool Running();
  // SIGTERM, then waits up to `timeout` (SIGKILL after). Returns the exit
  // code, or -1 when it had to be killed or died of a signal.
  int Stop(std::chrono::milliseconds timeout = std::chrono::seconds(5));

 private:
  ServerProcess(pid_t pid, std::string log_path) : pid_(pid), log_path_(std::move(log_path)) {}
  bool Reap(bool block, int* exit_code);

  pid_t pid_;
  bool exited_ = false;
  int exit_code_ = -1;
  std::string log_path_;
  uint16_t port_ = 0;
  std::string url_;
};

// The `aether` CLI run to completion with separate stdout and stderr.
struct CliRun {
  int exit_code = -1;  // -1: killed after the timeout, or died of a signal
  std::string out;
  std::string err;
};

struct CliOptions {
  // Added to the environment, replacing variables of the same name.
  std::map<std::string, std::string> env;
  std::string cwd;         // empty = the test's
  std::string stdin_text;  // stdin's whole content
  // When >= 0, the child's stdin and stdout are this descriptor (a socket,
  // as Node's child_process and systemd give); stdin_text and CliRun::out
  // are then unused.
  int stdio_fd = -1;
  std::chrono::milliseconds timeout = std::chrono::seconds(20);
};

// Runs AETHER_BIN_DIR/aether with `args`. The environment is the test's
// minus anything that could point the CLI elsewhere (AETHER_*, HOME and
// XDG_CONFIG_HOME: HOME is a fresh temp dir), plus `o.env`.
CliRun RunCli(const std::vector<std::string>& args, const CliOptions& o = {});

// "exit N", stdout and stderr, for failure messages.
std::string Show(const CliRun& r);

// One request with a 30 s timeout; any status is a successful Result.
Result<HttpResponse> Http(std::string_view method, const std::string& url,
                          std::string_view body = {});

}  // namespace aether::testing
