// The election of the control plane's leader on etcd (leadership.h): one
// key under the store's prefix (kElectionKey), created by the replica that
// wins it, with that replica's lease.
//
// One thread per replica:
//  * grants a lease of lease_ttl and keeps it alive every lease_ttl / 3
//    (/v3/lease/keepalive); the lease is held until `sent + TTL` of the
//    last keepalive etcd answered — Term() reads that deadline, so a
//    replica whose keepalives fail (etcd unreachable, or the process was
//    paused) stops leading when its lease may have lapsed, before any write
//    of its fails;
//  * campaigns with one txn: "create the key if absent, with my lease";
//    the winner's term is the key at the revision of that txn;
//  * a follower waits on the store's watch (any write under the prefix
//    wakes it, the key's deletion included) and campaigns again, at least
//    every lease_ttl / 3;
//  * a term that ends (deadline passed, lease gone, or a fenced write found
//    the key changed) revokes the lease, which deletes the key if it is
//    still this replica's, so that the next replica does not wait a TTL.
// Resign (a clean stop) revokes the lease: the key goes at once and a
// follower takes over within one watch event.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "control/etcd/etcd_client.h"
#include "control/leadership.h"
#include "control/store.h"

namespace aether::control::etcd {

// The store key (under the prefix) the leader holds; its value is the
// leader's replica id.
inline constexpr std::string_view kElectionKey = "meta/leader";

struct ElectionOptions {
  std::string replica_id;
  std::chrono::seconds lease_ttl{5};
  std::string prefix;  // the store's
};

class Election final : public Leadership {
 public:
  // `store` is the etcd store over the same `client`; both outlive this.
  Election(std::shared_ptr<Client> client, Store& store, ElectionOptions options);
  ~Election() override;  // Resign()s

  // Starts the thread; the first campaign runs on it.
  void Start();

  std::optional<Fence> Term() const override;
  void Lost(const Fence& term) override;
  void Resign() override;
  const std::string& replica_id() const override { return options_.replica_id; }
  const std::string& backend() const override { return backend_; }
  void Advertise(const std::string& record) override;

 private:
  using TimePoint = std::chrono::steady_clock::time_point;
  void Run();
  // One step each; errors are logged by Run.
  Status Grant();
  Status KeepAlive();
  Status Campaign();
  // Puts the advertised record with the current lease (once per lease).
  Status Register();
  void Revoke(int64_t lease);
  // Ends the current term (if any) and lets the lease go.
  void EndTerm(const char* why);
  bool Stopping();

  std::shared_ptr<Client> client_;
  Store& store_;
  const ElectionOptions options_;
  const std::string backend_ = "etcd";

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;      // under mu_
  int64_t lease_ = 0;          // under mu_; 0: none
  TimePoint lease_until_{};    // under mu_: the lease lives at least until then
  std::optional<Fence> term_;  // under mu_
  bool lost_ = false;          // under mu_: Lost() asked the thread to end the term
  std::string holder_;         // under mu_: the leader's replica id as last read
  std::string record_;         // under mu_: what Advertise asked to put
  int64_t registered_ = 0;     // under mu_: the lease record_ was put with
  std::thread thread_;
};

}  // namespace aether::control::etcd
