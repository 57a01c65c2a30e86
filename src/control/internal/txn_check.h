// Request checks shared by the Store implementations.
#pragma once

#include <algorithm>
#include <string_view>
#include <vector>

#include "control/store.h"

namespace aether::control::internal {

inline bool IsWrite(const Op& op) {
  return op.kind == Op::Kind::kPut || op.kind == Op::Kind::kDelete ||
         op.kind == Op::Kind::kDeletePrefix;
}

inline bool HasWrites(const TxnRequest& txn) {
  for (const Op& op : txn.ops) {
    if (IsWrite(op)) return true;
  }
  return false;
}

// Each key is written at most once per txn: two writes of one key, or a
// write inside a prefix the txn also deletes, are refused (etcd refuses
// them, "duplicate key given in txn request"; the embedded stores do too,
// so that code tested on them runs on etcd).
inline Status CheckDistinctWrites(const TxnRequest& txn) {
  std::vector<std::string_view> keys, prefixes;
  for (const Op& op : txn.ops) {
    if (op.kind == Op::Kind::kPut || op.kind == Op::Kind::kDelete) keys.push_back(op.key);
    if (op.kind == Op::Kind::kDeletePrefix) prefixes.push_back(op.key);
  }
  std::sort(keys.begin(), keys.end());
  if (std::adjacent_find(keys.begin(), keys.end()) != keys.end()) {
    return InvalidArgument("store: a txn writes one key twice");
  }
  for (size_t i = 0; i < prefixes.size(); ++i) {
    auto first = std::lower_bound(keys.begin(), keys.end(), prefixes[i]);
    if (first != keys.end() && first->starts_with(prefixes[i])) {
      return InvalidArgument("store: a txn writes a key under a prefix it deletes");
    }
    for (size_t j = 0; j < i; ++j) {
      if (prefixes[i].starts_with(prefixes[j]) || prefixes[j].starts_with(prefixes[i])) {
        return InvalidArgument("store: a txn deletes overlapping prefixes");
      }
    }
  }
  return OkStatus();
}

// Empty keys are refused (an empty prefix is fine: it means every key).
inline Status CheckTxn(const TxnRequest& txn) {
  for (const Compare& c : txn.compares) {
    if (c.key.empty()) return InvalidArgument("store: empty key in a compare");
  }
  for (const Op& op : txn.ops) {
    bool prefix_op = op.kind == Op::Kind::kList || op.kind == Op::Kind::kDeletePrefix;
    if (!prefix_op && op.key.empty()) return InvalidArgument("store: empty key");
    if (op.limit < 0) return InvalidArgument("store: negative list limit");
  }
  return CheckDistinctWrites(txn);
}

}  // namespace aether::control::internal
