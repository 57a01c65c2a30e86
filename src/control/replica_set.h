// The control plane's live replicas, as they list themselves in the store
// (Leadership::Advertise: on etcd one key per replica under
// kReplicasPrefix, held with the replica's lease, so a replica that dies
// drops out within lease_ttl). The embedded store has one process, which
// lists nothing: its replica set is itself alone.
//
// Thread-safety: any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "control/store.h"

namespace aether::control {

// One replica's entry: {"id": ..., "url": ..., "started_at": ...}.
struct ReplicaRecord {
  std::string id;
  std::string url;  // where the other replicas reach it ([cluster] advertise_url)
  std::string started_at;
};

std::string EncodeReplicaRecord(const ReplicaRecord& record);
// InvalidArgument for a value that is not a record (a bad id or URL).
Result<ReplicaRecord> DecodeReplicaRecord(std::string_view value);

class ReplicaSet {
 public:
  ReplicaSet(Store& store, std::string self_id) : store_(store), self_id_(std::move(self_id)) {}

  // Every listed replica, in id order; entries that cannot be read are
  // left out (and logged).
  Result<std::vector<ReplicaRecord>> All();
  // All() without this replica.
  Result<std::vector<ReplicaRecord>> Peers();
  const std::string& self_id() const { return self_id_; }

 private:
  Store& store_;
  const std::string self_id_;
};

}  // namespace aether::control
