// A real nats-server with JetStream for tests: on 127.0.0.1, its store in a
// directory the test owns, stopped or killed by PID (process.h). Kill() is
// kill -9 (nothing flushed beyond what the server already synced);
// Restart() starts it again on the same port and store dir, so clients
// that reconnect find the streams and consumers it had.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "common/result.h"
#include "process.h"

namespace aether::testing {

// Where nats-server is installed (Debian: /usr/sbin); empty when it is not.
std::string NatsServerBinary();

struct NatsServerOptions {
  std::string store_dir;  // required: JetStream's files (-sd)
  uint16_t port = 0;      // 0: the server picks a free one
  // Both set: clients must present them (--user, --pass).
  std::string user;
  std::string password;
};

class NatsServer {
 public:
  // Unavailable (with the end of its log) when it exits or is not ready
  // ("Server is ready") within `timeout`; Internal when it cannot start.
  static Result<std::unique_ptr<NatsServer>> Start(
      NatsServerOptions options, std::chrono::milliseconds timeout = std::chrono::seconds(15));
  ~NatsServer();  // stops it (SIGTERM, then SIGKILL)
  NatsServer(const NatsServer&) = delete;
  NatsServer& operator=(const NatsServer&) = delete;

  uint16_t port() const { return options_.port; }
  std::string url() const { return "nats://127.0.0.1:" + std::to_string(options_.port); }
  // An engine's [nats] section naming this server, for Engine's `extra`.
  std::string EngineConfig() const { return "[nats]\nurls = [\"" + url() + "\"]\n"; }
  bool Running() { return process_ != nullptr && process_->Running(); }
  // The log of the current (or last) run.
  std::string Log() const { return process_ != nullptr ? process_->Log() : ""; }

  // SIGKILL, and waits until it is gone.
  void Kill();
  // SIGTERM (a clean shutdown), and waits until it is gone.
  void Stop();
  // Starts it again with the same options (port, store dir); stops the
  // running one first.
  Status Restart(std::chrono::milliseconds timeout = std::chrono::seconds(15));

 private:
  explicit NatsServer(NatsServerOptions options) : options_(std::move(options)) {}

  NatsServerOptions options_;
  TempDir logs_;
  int runs_ = 0;
  std::unique_ptr<ServerProcess> process_;
};

// A server with its store in `store_dir` (a test's TempDir), for the many
// tests that need just one: a gtest failure names why it did not start.
inline std::unique_ptr<NatsServer> StartTestNats(const std::string& store_dir) {
  if (NatsServerBinary().empty()) {
    ADD_FAILURE() << "nats-server is not installed (make deps)";
    return nullptr;
  }
  NatsServerOptions o;
  o.store_dir = store_dir;
  auto n = NatsServer::Start(std::move(o));
  if (!n.ok()) {
    ADD_FAILURE() << n.status().message();
    return nullptr;
  }
  return std::move(n).value();
}

}  // namespace aether::testing
