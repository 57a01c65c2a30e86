#include "control/replica_set.h"

#include <boost/json.hpp>

#include "common/config.h"
#include "common/endpoint_list.h"
#include "common/json_util.h"
#include "common/log.h"
#include "control/leadership.h"

namespace aether::control {

namespace json = boost::json;

std::string EncodeReplicaRecord(const ReplicaRecord& r) {
  return ToJson(json::object{{"id", r.id}, {"url", r.url}, {"started_at", r.started_at}});
}

Result<ReplicaRecord> DecodeReplicaRecord(std::string_view value) {
  ASSIGN_OR_RETURN(json::object o, ParseJsonObject(value, "a replica record"));
  ReplicaRecord r;
  ASSIGN_OR_RETURN(r.id, GetString(o, "id"));
  ASSIGN_OR_RETURN(std::string url, GetString(o, "url"));
  ASSIGN_OR_RETURN(r.started_at, GetString(o, "started_at", ""));
  if (!IsReplicaId(r.id)) return InvalidArgument("a replica record has a bad id");
  // A peer's URL is where this replica sends the admin token: only a
  // well-formed http(s) URL.
  ASSIGN_OR_RETURN(r.url, CheckEndpointUrl(url));
  return r;
}

Result<std::vector<ReplicaRecord>> ReplicaSet::All() {
  ASSIGN_OR_RETURN(std::vector<KeyValue> kvs, store_.List(kReplicasPrefix));
  std::vector<ReplicaRecord> out;
  for (const KeyValue& kv : kvs) {
    Result<ReplicaRecord> r = DecodeReplicaRecord(kv.value);
    if (!r.ok()) {
      LOG_WARN("ignoring the replica entry {}: {}", kv.key, r.status().message());
      continue;
    }
    out.push_back(std::move(*r));
  }
  return out;
}

Result<std::vector<ReplicaRecord>> ReplicaSet::Peers() {
  ASSIGN_OR_RETURN(std::vector<ReplicaRecord> all, All());
  std::erase_if(all, [this](const ReplicaRecord& r) { return r.id == self_id_; });
  return all;
}

}  // namespace aether::control
