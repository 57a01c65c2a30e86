#include "control/store.h"

namespace aether::control {

Result<std::optional<KeyValue>> Store::Get(std::string_view key) {
  TxnRequest txn;
  txn.ops.push_back(Op::Get(std::string(key)));
  ASSIGN_OR_RETURN(TxnResult r, Txn(txn));
  if (r.reads.empty() || r.reads[0].empty()) return std::optional<KeyValue>();
  return std::optional<KeyValue>(std::move(r.reads[0][0]));
}

Result<std::optional<KeyValue>> CachedKey::Get() {
  if (std::optional<int64_t> known = store_.KnownRevision()) {
    std::lock_guard lock(mu_);
    if (read_at_ == *known) return value_;
  }
  TxnRequest txn;
  txn.ops.push_back(Op::Get(key_));
  ASSIGN_OR_RETURN(TxnResult r, store_.Txn(txn));
  std::optional<KeyValue> value;
  if (!r.reads.empty() && !r.reads[0].empty()) value = std::move(r.reads[0][0]);
  std::lock_guard lock(mu_);
  read_at_ = r.revision;
  value_ = value;
  return value;
}

Result<std::vector<KeyValue>> Store::List(std::string_view prefix, int64_t limit,
                                          std::string_view start_after) {
  TxnRequest txn;
  txn.ops.push_back(Op::List(std::string(prefix), limit, std::string(start_after)));
  ASSIGN_OR_RETURN(TxnResult r, Txn(txn));
  if (r.reads.empty()) return std::vector<KeyValue>();
  return std::move(r.reads[0]);
}

Result<int64_t> Store::Put(std::string_view key, std::string_view value) {
  TxnRequest txn;
  txn.ops.push_back(Op::Put(std::string(key), std::string(value)));
  ASSIGN_OR_RETURN(TxnResult r, Txn(txn));
  return r.revision;
}

Result<int64_t> Store::Delete(std::string_view key) {
  TxnRequest txn;
  txn.ops.push_back(Op::Delete(std::string(key)));
  ASSIGN_OR_RETURN(TxnResult r, Txn(txn));
  return r.revision;
}

std::string PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto& c = reinterpret_cast<unsigned char&>(end.back());
    if (c < 0xff) {
      ++c;
      return end;
    }
    end.pop_back();
  }
  return end;
}

}  // namespace aether::control
