#include "control/leadership.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>

#include "common/config.h"
#include "common/file_io.h"
#include "control/auth.h"

namespace aether::control {
namespace {

constexpr size_t kHostPart = 40;  // of a generated id; the rest is "-" + 8 hex digits

class EmbeddedLeadership final : public Leadership {
 public:
  EmbeddedLeadership(std::string replica_id, std::string backend)
      : replica_id_(std::move(replica_id)), backend_(std::move(backend)) {}
  std::optional<Fence> Term() const override { return Fence{}; }
  void Lost(const Fence&) override {}
  void Resign() override {}
  const std::string& replica_id() const override { return replica_id_; }
  const std::string& backend() const override { return backend_; }

 private:
  std::string replica_id_;
  std::string backend_;
};

bool Writes(const TxnRequest& txn) {
  for (const Op& op : txn.ops) {
    if (op.kind != Op::Kind::kGet && op.kind != Op::Kind::kList) return true;
  }
  return false;
}

// The host name as far as it is valid in a replica id.
std::string HostPart() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') return "control";
  std::string out(host);
  std::replace_if(
      out.begin(), out.end(),
      [](char ch) { return !std::isalnum(static_cast<unsigned char>(ch)) && ch != '-'; }, '-');
  out.resize(std::min(out.size(), kHostPart));
  if (!std::isalnum(static_cast<unsigned char>(out[0]))) out.insert(0, "c");
  return out;
}

}  // namespace

Result<std::string> LoadOrCreateReplicaId(const std::string& configured,
                                          const std::string& data_dir, bool keep) {
  if (!configured.empty()) return configured;  // checked with the config
  if (!keep) return HostPart();
  std::string path = data_dir + "/REPLICA_ID";
  Result<std::string> kept = ReadWholeFile<std::string>(path);
  if (kept.ok()) {
    std::string id = *kept;
    while (!id.empty() && std::isspace(static_cast<unsigned char>(id.back()))) id.pop_back();
    if (!IsReplicaId(id)) {
      return InvalidArgument(path +
                             " does not hold a valid replica id; delete it to get a new one");
    }
    return id;
  }
  if (kept.status().code() != Code::kNotFound) return kept.status();
  ASSIGN_OR_RETURN(std::string random, GenerateToken());
  std::string id = HostPart() + "-" + random.substr(0, 8);
  RETURN_IF_ERROR(WriteFileAtomically(path, id + "\n"));
  return id;
}

std::unique_ptr<Leadership> NewEmbeddedLeadership(std::string replica_id, std::string backend) {
  return std::make_unique<EmbeddedLeadership>(std::move(replica_id), std::move(backend));
}

Result<TxnResult> FencedStore::Txn(const TxnRequest& txn) {
  if (!Writes(txn)) return inner_.Txn(txn);
  std::optional<Fence> term = leadership_.Term();
  if (!term) {
    return Unavailable("replica " + leadership_.replica_id() +
                       " is not the leader: the leader's work is not done here");
  }
  if (term->key.empty()) return inner_.Txn(txn);
  TxnRequest fenced = txn;
  fenced.compares.push_back(Compare::ModRevisionIs(term->key, term->revision));
  ASSIGN_OR_RETURN(TxnResult r, inner_.Txn(fenced));
  if (r.succeeded) return r;
  // The txn's own compares, or the fence? Only the key tells.
  ASSIGN_OR_RETURN(std::optional<KeyValue> key, inner_.Get(term->key));
  if (key && key->mod_revision == term->revision) return r;
  leadership_.Lost(*term);
  return Unavailable("replica " + leadership_.replica_id() +
                     " lost the lead (its election key changed at revision " +
                     std::to_string(key ? key->mod_revision : r.revision) +
                     "): the write it made as leader was refused");
}

}  // namespace aether::control
