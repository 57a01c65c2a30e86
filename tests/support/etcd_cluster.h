// Real etcd members for tests (Debian's etcd-server): 1 or more members
// on 127.0.0.1, each with its data directory under one the test owns,
// started and stopped by PID (process.h). Ports are picked free before
// start (etcd cannot report a port 0 it was given), so a start can lose
// a race for one with another process: Start() then tries new ports.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "process.h"

namespace aether::testing {

// Where etcd is installed; empty when it is not.
std::string EtcdBinary();

// Clients over TLS (peers still talk plain HTTP among themselves).
struct EtcdTls {
  std::string cert_file;  // the members' server certificate and key
  std::string key_file;
  // Set: clients must show a certificate this CA file vouches for.
  std::string client_ca_file{};
};

class EtcdCluster {
 public:
  // `members` members forming one cluster; returns once every one serves
  // clients. Unavailable (with the end of a log) when one does not.
  static Result<std::unique_ptr<EtcdCluster>> Start(
      size_t members, std::chrono::milliseconds timeout = std::chrono::seconds(30),
      std::optional<EtcdTls> tls = std::nullopt);
  ~EtcdCluster();  // stops every member (SIGTERM, then SIGKILL)
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  size_t size() const { return members_.size(); }
  // "http://127.0.0.1:PORT" of member i (https:// with TLS).
  std::string endpoint(size_t i) const;
  std::vector<std::string> endpoints() const;
  std::string Logs() const;

  void Kill(size_t i);  // SIGKILL, and waits until it is gone
  void Stop(size_t i);  // SIGSTOP/SIGCONT are the test's business; this is SIGTERM
  // Starts member i again (same ports and data), waiting until it serves
  // clients (a member of a cluster that lost quorum only once it is back).
  Status Restart(size_t i, std::chrono::milliseconds timeout = std::chrono::seconds(30));

 private:
  struct Member {
    std::string name;
    uint16_t client_port = 0;
    uint16_t peer_port = 0;
    int runs = 0;
    std::unique_ptr<ServerProcess> process;
  };
  EtcdCluster() = default;
  Status Launch(size_t i, bool initial, std::chrono::milliseconds timeout);

  std::string ClientUrl(const Member& m) const;

  TempDir dir_;
  std::optional<EtcdTls> tls_;
  std::string initial_cluster_;
  std::vector<Member> members_;
};

}  // namespace aether::testing
