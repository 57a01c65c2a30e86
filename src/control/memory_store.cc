// The in-memory Store: a std::map under one mutex. Same semantics as the
// SQLite store, so tests of the layers above can run without a disk.
#include <map>
#include <mutex>

#include "control/internal/local_revision_store.h"
#include "control/internal/txn_check.h"
#include "control/store.h"

namespace aether::control {
namespace {

class MemoryStore final : public internal::LocalRevisionStore {
 public:
  Result<TxnResult> Txn(const TxnRequest& txn) override {
    RETURN_IF_ERROR(internal::CheckTxn(txn));
    std::unique_lock lock(mu_);
    TxnResult result;
    result.revision = revision_;
    for (const Compare& c : txn.compares) {
      auto it = kv_.find(c.key);
      int64_t mod = it == kv_.end() ? 0 : it->second.mod_revision;
      bool holds = c.kind == Compare::Kind::kExists ? mod != 0 : mod == c.mod_revision;
      if (!holds) return result;
    }
    result.succeeded = true;
    // Reads after writes in the same txn see the writes (as in etcd).
    int64_t next = revision_ + 1;
    bool wrote = false;
    for (const Op& op : txn.ops) {
      switch (op.kind) {
        case Op::Kind::kPut: {
          KeyValue& kv = kv_[op.key];
          if (kv.create_revision == 0) kv.create_revision = next;
          kv.key = op.key;
          kv.value = op.value;
          kv.mod_revision = next;
          wrote = true;
          break;
        }
        case Op::Kind::kDelete:
          kv_.erase(op.key);
          wrote = true;  // any write op bumps the revision, changed or not
          break;
        case Op::Kind::kDeletePrefix: {
          auto end = EndOf(op.key);
          kv_.erase(kv_.lower_bound(op.key), end);
          wrote = true;
          break;
        }
        case Op::Kind::kGet: {
          auto it = kv_.find(op.key);
          result.reads.emplace_back();
          if (it != kv_.end()) result.reads.back().push_back(it->second);
          break;
        }
        case Op::Kind::kList: {
          result.reads.emplace_back();
          auto it = op.start_after.empty() || op.start_after < op.key
                        ? kv_.lower_bound(op.key)
                        : kv_.upper_bound(op.start_after);
          for (auto end = EndOf(op.key); it != end; ++it) {
            if (op.limit > 0 && static_cast<int64_t>(result.reads.back().size()) >= op.limit) break;
            result.reads.back().push_back(it->second);
          }
          break;
        }
      }
    }
    if (wrote) {
      result.revision = next;
      Publish(lock, next);
    }
    return result;
  }

 private:
  std::map<std::string, KeyValue>::iterator EndOf(const std::string& prefix) {
    std::string end = PrefixEnd(prefix);
    return end.empty() ? kv_.end() : kv_.lower_bound(end);
  }

  std::map<std::string, KeyValue> kv_;
};

}  // namespace

std::unique_ptr<Store> NewMemoryStore() { return std::make_unique<MemoryStore>(); }

}  // namespace aether::control
