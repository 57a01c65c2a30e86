// A TCP proxy for fault-injection tests: it listens on 127.0.0.1 (a free
// port), forwards every connection it accepts to a target address, and can
// be switched at run time to misbehave like a bad network link:
//
//   Pass    forward both ways (the start mode).
//   Stall   accept and keep connections open, forward nothing: bytes that
//           arrive are read and held (up to kMaxHeldPerDirection per
//           direction, then they wait in the kernel), new connections are
//           accepted but not connected to the target yet. An end that
//           closes meanwhile is held too: its close follows its bytes.
//   Drop    close every connection at once (both ends), held bytes lost;
//           new connections are accepted and closed at once (the port
//           stays ours: a client sees the close, never another server).
//   Resume  back to Pass: held bytes flow, waiting connections connect.
//
// Only for tests (linked by test binaries, never by the product). One
// thread runs all the I/O; the controls hand the mode to it and return once
// it is applied, so after Stall() returns nothing more is forwarded, and
// after Drop() returns every connection is closed.
//
// Thread-safety: every public member may be called from any thread but the
// proxy's own (there are no callbacks, so a test never is on it).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"

namespace aether::testing {

class TcpProxy {
 public:
  enum class Mode { kPass, kStall, kDrop };

  // Bytes held per connection and direction while stalled; past it the
  // proxy stops reading that end (the sender's kernel buffers fill).
  static constexpr size_t kMaxHeldPerDirection = 4u << 20;

  struct Counts {
    uint64_t accepted = 0;        // connections accepted in Pass or Stall
    uint64_t refused = 0;         // connections closed at accept (Drop)
    uint64_t dropped = 0;         // connections closed by Drop()
    uint64_t open = 0;            // connections open now
    uint64_t connect_failed = 0;  // the target did not accept (the client is closed)
    uint64_t to_target = 0;       // bytes forwarded client -> target
    uint64_t to_client = 0;       // bytes forwarded target -> client
    uint64_t held = 0;            // bytes read and not yet forwarded (both directions)
  };

  // Listens on 127.0.0.1:0. `target_port` 0: no target yet (connections
  // wait as in Stall until SetTarget). Errors: InvalidArgument for a
  // target host that is not an IP address, Internal when it cannot listen.
  static Result<std::unique_ptr<TcpProxy>> Start(const std::string& target_host = "127.0.0.1",
                                                 uint16_t target_port = 0);
  ~TcpProxy();  // Stop()s  NOLINT(bugprone-exception-escape): see tcp_proxy.cc
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // Where later connections (and those waiting for a target) go, e.g. once
  // the server behind the proxy has picked its port. InvalidArgument for a
  // host that is not an IP address.
  [[nodiscard]] Status SetTarget(uint16_t port, const std::string& host = "127.0.0.1");

  void Stall() { SetMode(Mode::kStall); }
  void Drop() { SetMode(Mode::kDrop); }
  void Resume() { SetMode(Mode::kPass); }
  void SetMode(Mode mode);
  Mode mode() const;

  Counts counts() const;

  // Closes the listener and every connection and joins the I/O thread.
  // Idempotent; later controls do nothing.
  void Stop();

 private:
  struct Impl;
  explicit TcpProxy(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
  uint16_t port_ = 0;
};

}  // namespace aether::testing
