// aether-control as a library: the store, artifact store, registries,
// gateway and HTTP API wired together from a Config. main() and `aether
// dev` only parse arguments and call this.
//
// The data directory is the directory of [database] path: it holds the
// SQLite store, artifacts/, the generated token files and a LOCK file that
// keeps a second control plane off the same data.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/config.h"
#include "common/result.h"
#include "control/leadership.h"
#include "control/store.h"

namespace aether::control {

inline constexpr uint16_t kDefaultControlPort = 9090;
// API workers run store I/O and module validation; a handful is plenty for
// one SQLite connection behind a mutex. Requests waiting for one beyond the
// queue are answered 503 overloaded.
inline constexpr size_t kApiWorkers = 4;
inline constexpr size_t kApiQueue = 1024;

// The parts a test replaces; aether-control and `aether dev` use the
// defaults.
struct ControlServiceParts {
  // Used instead of the SQLite store at [database] path (the data directory
  // still holds artifacts, tokens and LOCK): a test's store that fails on
  // demand.
  std::unique_ptr<Store> store;
  // A small pool and queue let a test fill them with a few requests.
  size_t api_workers = kApiWorkers;
  size_t api_queue = kApiQueue;
  // With `store`: this replica's part in an election (default: always the
  // leader).
  std::unique_ptr<Leadership> leadership{};
};

// Thread-safety: Start, Stop and the destructor from one controlling thread;
// the getters from any thread after Create.
class ControlService {
 public:
  // Opens (creating when needed) the data directory, the store and the
  // tokens, removes orphaned artifacts, and sets up the routes; does not
  // listen yet. Errors: an unusable data directory or store, a data
  // directory in use by another control plane, an invalid [server] section.
  // `port_override` replaces [server] port, 0 meaning a free port (the
  // config cannot say that: its 0 means "the default, 9090").
  static Result<std::unique_ptr<ControlService>> Create(
      const Config& config, std::optional<uint16_t> port_override = std::nullopt,
      ControlServiceParts parts = {});
  virtual ~ControlService() = default;  // Stop()s

  // Listens on [server] host and port. Errors: Unavailable when the port
  // is taken, InvalidArgument for TLS files.
  virtual Status Start() = 0;
  // Graceful: stops accepting, lets requests in flight answer (up to the
  // server's stop timeout), answers parked manifest polls, stops the
  // background threads. Idempotent.
  virtual void Stop() = 0;

  virtual uint16_t port() const = 0;    // after Start()
  virtual std::string url() const = 0;  // "http://127.0.0.1:PORT" after Start()
  virtual const std::string& admin_token() const = 0;
  virtual const std::string& join_token() const = 0;
  // The files the tokens live in; empty when set in the configuration.
  virtual const std::string& admin_token_file() const = 0;
  virtual const std::string& join_token_file() const = 0;
  // Role cluster: the token that admits new domains, and its file (empty
  // when configured); empty in the other roles.
  virtual const std::string& domain_join_token() const = 0;
  virtual const std::string& domain_join_token_file() const = 0;
  // Role domain: whether the controller took the last registration or
  // heartbeat.
  virtual bool domain_connected() const = 0;
  virtual const std::string& data_dir() const = 0;
  // GET /node/workflows long polls parked right now (lets a test see that a
  // poll parks without sleeping).
  virtual size_t parked_workflow_polls() const = 0;
};

}  // namespace aether::control
