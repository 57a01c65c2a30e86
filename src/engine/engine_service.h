// aether-engine as a library: the sandbox, the functions directory, the
// worker pool and the HTTP API wired together from a Config. main() and
// `aether dev` only parse arguments and call this.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/config.h"
#include "common/result.h"

namespace aether::engine {

inline constexpr std::string_view kEngineVersion = "0.1.0";
inline constexpr uint16_t kDefaultEnginePort = 9091;

// Thread-safety: Start, Stop and the destructor from one controlling thread;
// the getters from any thread after Create.
class EngineService {
 public:
  // Creates data_dir and its cache/ subdirectory, the AOT engine, the
  // function registry (which starts compiling every module in the
  // background), the workers and the routes; does not listen yet. With
  // [control] urls set it also applies the manifest saved in data_dir (so
  // those functions load now) and prepares the control-plane link.
  // Errors: a data_dir that cannot be created, an unreadable functions_dir,
  // an invalid [server] section.
  // `port_override` replaces [server] port, 0 meaning a free port (the
  // config cannot say that: its 0 means "the default, 9091").
  static Result<std::unique_ptr<EngineService>> Create(
      const Config& config, std::optional<uint16_t> port_override = std::nullopt);
  virtual ~EngineService() = default;  // Stop()s

  // Listens on [server] host and port (9091 when unset), then joins the
  // control plane (in the background: an unreachable one is not an error).
  // Errors: Unavailable when the port is taken, InvalidArgument for TLS files.
  virtual Status Start() = 0;
  // Graceful: stops beating and following the manifest, stops accepting, lets executions in flight
  // answer (up to the server's stop timeout), drains the workers. Idempotent.
  virtual void Stop() = 0;

  virtual uint16_t port() const = 0;    // after Start()
  virtual std::string url() const = 0;  // "http://127.0.0.1:PORT" after Start()
  virtual size_t function_count() const = 0;
  virtual const std::string& functions_dir() const = 0;
};

}  // namespace aether::engine
