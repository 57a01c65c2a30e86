// Which replica of the control plane does the singleton work — node
// timeouts (NodeRegistry::Sweep), workflow placement and healing
// (Orchestrator::Reconcile), event trimming — and the fence
// that keeps a replica that lost the lead from writing as leader.
//
//  * Embedded (SQLite or memory store): one process, kept alone on its data
//    by the data directory's LOCK, is always the leader; its fence compares
//    nothing, so its writes are the plain store's.
//  * etcd (etcd_store.h, OpenEtcdControlPlane): replicas campaign for one
//    key held with a lease; the winner leads while its lease lives. Its
//    fence is that key at the revision it won it: a write made as leader
//    carries the compare, so a leader that was paused past its lease and
//    wakes up cannot write (its txn fails the compare: FencedStore).
//
// Thread-safety: any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "control/store.h"

namespace aether::control {

// A term of leadership: the election key and its mod revision when this
// replica won it. An empty key compares nothing (the embedded leader).
struct Fence {
  std::string key;
  int64_t revision = 0;
  bool operator==(const Fence&) const = default;
};

class Leadership {
 public:
  virtual ~Leadership() = default;

  // The current term when this replica leads now, else nullopt. A term
  // ends by itself when the lease could not be kept alive for its TTL,
  // without waiting for a write to fail.
  virtual std::optional<Fence> Term() const = 0;
  bool IsLeader() const { return Term().has_value(); }
  // A fenced write found that `term`'s key changed: the term is over (if
  // it is still the current one) and this replica campaigns again.
  virtual void Lost(const Fence& term) = 0;
  // Hands the lead over (revokes the lease, so another replica takes over
  // at once) and stops campaigning. Idempotent.
  virtual void Resign() = 0;

  virtual const std::string& replica_id() const = 0;
  // "sqlite", "memory" or "etcd": for /health.
  virtual const std::string& backend() const = 0;
  // Lists this replica among the live ones (replica_set.h) for as long as
  // it lives: on etcd, `record` is put at kReplicasPrefix + replica_id()
  // with the election's lease (again after every new lease), so a replica
  // that dies drops out within lease_ttl. The embedded leader is alone:
  // nothing to list.
  virtual void Advertise(const std::string& record) { (void)record; }
};

// Where the live replicas list themselves (Advertise).
inline constexpr std::string_view kReplicasPrefix = "replicas/";

// [cluster] replica_id, or else: with `keep` (replicas on etcd) the one
// generated for this data directory (<data dir>/REPLICA_ID: the host name
// and 8 random hex digits, kept so a restarted replica keeps its name);
// without, the host name (one process: nothing to tell apart, no file).
// Errors: Internal when the file cannot be read or written;
// InvalidArgument when it holds no valid id.
Result<std::string> LoadOrCreateReplicaId(const std::string& configured,
                                          const std::string& data_dir, bool keep);

// The one process of an embedded store: always the leader.
std::unique_ptr<Leadership> NewEmbeddedLeadership(std::string replica_id, std::string backend);

// The store the singleton parts write through. Reads pass through; a txn
// with writes gets the current term's fence added to its compares. Not the
// leader now: Unavailable "not the leader", without touching the store.
// The fence failed (the key changed: another replica leads, or the lease
// lapsed): Leadership::Lost, and Unavailable saying so — never a failed
// compare, which a caller's CAS loop would take for a conflict and retry.
// A txn that failed its own compares is returned as it is.
class FencedStore final : public Store {
 public:
  FencedStore(Store& inner, Leadership& leadership) : inner_(inner), leadership_(leadership) {}

  Result<TxnResult> Txn(const TxnRequest& txn) override;
  Result<int64_t> Revision() override { return inner_.Revision(); }
  Result<int64_t> WaitForRevision(int64_t after, std::chrono::milliseconds timeout) override {
    return inner_.WaitForRevision(after, timeout);
  }

  Leadership& leadership() { return leadership_; }
  bool IsLeader() const { return leadership_.IsLeader(); }

 private:
  Store& inner_;
  Leadership& leadership_;
};

}  // namespace aether::control
