// Request checks shared by the Store implementations.
#pragma once

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
  return OkStatus();
}

}  // namespace aether::control::internal
