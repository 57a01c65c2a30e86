// The control plane's Store on etcd 3.4+ (docs/operations.md, "etcd"):
// several aether-control replicas share one etcd cluster. Talks to etcd's
// v3 JSON gateway (/v3/kv/txn, /v3/kv/range, /v3/watch) over the tree's
// HTTP client rather than gRPC: no gRPC/protobuf stack in the build, and
// every call is one small POST the control plane already knows how to
// make, time out and retry.
//
// Mapping: a Store key k is the etcd key `prefix` + k; a Txn is one etcd
// txn (compares on MOD revision; Exists is CREATE > 0); revisions are
// etcd's, so they are shared by every replica, and — as with any etcd
// client — another user of the same etcd cluster moves them too (use a
// cluster of its own or accept gaps; nothing here needs them dense). One
// difference from the embedded stores: a txn whose writes change nothing
// (a delete of a missing key) does not bump the revision. WaitForRevision
// wakes on writes made by any replica (a watch on the prefix).
//
// Endpoints are tried in turn: a connection that cannot be made moves to
// the next one at once; an answer etcd gave (an error included) is the
// answer. Writes are never sent twice: a write whose answer was lost fails
// with Unavailable, and the caller decides (the control plane's writes
// are compare-and-set, so retrying them is safe).
//
// TLS: https:// endpoints (all of them, or none) are verified against
// `ca_file` (else the system store); `cert_file`/`key_file` are shown to an
// etcd that asks for client certificates (--client-cert-auth).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/result.h"
#include "control/leadership.h"
#include "control/store.h"

namespace aether::control {

// Where the control plane takes [store] password from when its config
// file leaves it empty (a secret kept out of files).
inline constexpr const char* kEtcdPasswordEnv = "AETHER_ETCD_PASSWORD";

struct EtcdStoreOptions {
  std::vector<std::string> endpoints;  // "http://host:port", at least one
  // Every key of this store starts with it; replicas of one control plane
  // share it, control planes sharing an etcd cluster need different ones.
  std::string prefix = "/aether/";
  // Both set: etcd's authentication (POST /v3/auth/authenticate; the token
  // is renewed when etcd says it expired).
  std::string username{};
  std::string password{};
  std::chrono::milliseconds request_timeout{5000};
  // https:// endpoints only (refused with http://, where they would be
  // silently unused).
  std::string ca_file{};
  std::string cert_file{};
  std::string key_file{};
};

// Connects and reads the revision. Errors: InvalidArgument for options
// that cannot work (no endpoint, an endpoint that is not http(s)://host:port,
// http and https mixed, an empty prefix, a user without a password, TLS
// files with http:// or that cannot be loaded), Unavailable when no
// endpoint answers (a failed TLS handshake says why), Unauthenticated when
// etcd refuses the credentials.
Result<std::unique_ptr<Store>> OpenEtcdStore(const EtcdStoreOptions& options);

// The election of the leader among replicas (leadership.h; how it works:
// control/etcd/etcd_election.h).
struct EtcdElectionOptions {
  std::string replica_id;  // [cluster] replica_id: unique among the replicas
  std::chrono::seconds lease_ttl{5};
};

// The store and this replica's part in the election, over one connection.
// Destroy `leadership` before `store` (it waits on the store's watch).
struct EtcdControlPlane {
  std::unique_ptr<Store> store;
  std::unique_ptr<Leadership> leadership;
};
// OpenEtcdStore, then starts campaigning (in the background: a replica
// starts as a follower). Errors: OpenEtcdStore's, InvalidArgument for an
// invalid replica id (IsReplicaId) or a lease_ttl out of [kMinLeaseTtl,
// kMaxLeaseTtl] (common/config.h, where [cluster] is checked).
Result<EtcdControlPlane> OpenEtcdControlPlane(const EtcdStoreOptions& options,
                                              EtcdElectionOptions election);

}  // namespace aether::control
