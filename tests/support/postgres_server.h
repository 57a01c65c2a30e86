// A real PostgreSQL server for tests: initdb into a directory the test
// owns, postgres on 127.0.0.1 with a free port and its socket in that
// directory, stopped by PID (process.h) and removed with the directory.
// PostgreSQL refuses to run as root, and CI runs as root: then initdb and
// postgres run as the `postgres` user (setpriv, which execs, so the PID is
// the server's own) and the directory is chowned to it.
//
// The superuser is "aether" with the password kPostgresPassword: TCP
// connections need it (scram-sha-256), the socket does not (trust).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "process.h"

namespace aether::testing {

inline constexpr std::string_view kPostgresPassword = "aether-test-password";

// Where initdb and postgres are (Debian's postgresql-15); empty when not.
std::string PostgresBinDir();

class PostgresServer {
 public:
  // Unavailable (with the end of its log) when it does not become ready
  // within `timeout`; Internal when initdb fails.
  static Result<std::unique_ptr<PostgresServer>> Start(
      std::chrono::milliseconds timeout = std::chrono::seconds(30));
  ~PostgresServer();  // a fast shutdown (SIGINT), then SIGKILL
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  uint16_t port() const { return port_; }
  // postgresql://aether@127.0.0.1:PORT/postgres (without the password).
  std::string Url(std::string_view user = "aether") const;

  // Runs `sql` with psql over the socket as the superuser; its output, or
  // Internal with it.
  Result<std::string> Psql(const std::string& sql) const;

  // An immediate shutdown (SIGQUIT: clients are cut off), and waits until
  // it is gone.
  void Kill();
  // Starts it again on the same port and data.
  Status Restart(std::chrono::milliseconds timeout = std::chrono::seconds(30));

 private:
  PostgresServer() = default;
  // `args` run as the server's user (setpriv when we are root).
  std::vector<std::string> AsServerUser(const std::string& binary,
                                        std::vector<std::string> args) const;

  TempDir dir_;   // the server's: data and sockets (chowned to it)
  TempDir logs_;  // ours
  std::string data_, sockets_;
  uint16_t port_ = 0;
  int runs_ = 0;
  std::unique_ptr<ServerProcess> process_;
};

}  // namespace aether::testing
