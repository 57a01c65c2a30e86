// Store: the control plane's durable state as an ordered key-value store
// with etcd's shape, so an etcd-backed store can replace the embedded SQLite
// one without touching the code above it.
//
//  * Keys are byte strings ordered by memcmp; values are opaque bytes (the
//    control plane stores JSON).
//  * Every successful write transaction bumps one global revision by one
//    (etcd: one revision per txn). Each key carries the revision that
//    created it and the one that last modified it.
//  * Txn = compares (all must hold) + ops, applied atomically. Read ops in a
//    txn see one consistent snapshot, which is how multi-key reads are done.
//  * WaitForRevision is the watch: block until the store has moved past a
//    revision (engines' manifest long-poll sits on it).
//  * Leases are not part of the interface: node liveness is decided from
//    heartbeat timestamps by the node registry, which needs no TTL keys.
//
// Thread-safety: every method may be called from any thread concurrently.
// Errors: Internal / Unavailable for I/O failures of the backing store,
// InvalidArgument for malformed requests (empty key). A failed compare is
// not an error: TxnResult::succeeded is false.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace aether::control {

struct KeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
};

// A condition on one key's mod revision; 0 means "the key does not exist".
struct Compare {
  enum class Kind { kModRevisionEquals, kExists };
  std::string key;
  Kind kind = Kind::kModRevisionEquals;
  int64_t mod_revision = 0;

  static Compare ModRevisionIs(std::string key, int64_t rev) {
    return {std::move(key), Kind::kModRevisionEquals, rev};
  }
  static Compare Absent(std::string key) { return ModRevisionIs(std::move(key), 0); }
  static Compare Exists(std::string key) { return {std::move(key), Kind::kExists, 0}; }
};

// One operation of a transaction. Writes: kPut, kDelete (one key),
// kDeletePrefix. Reads: kGet (one key), kList (every key with the prefix, in
// key order, at most `limit` when > 0, starting after `start_after` when
// set — for paging).
struct Op {
  enum class Kind { kPut, kDelete, kDeletePrefix, kGet, kList };
  Kind kind = Kind::kGet;
  std::string key;  // the key, or the prefix for kDeletePrefix / kList
  std::string value;
  std::string start_after;  // kList only
  int64_t limit = 0;        // kList only; 0 = unlimited

  static Op Put(std::string key, std::string value) {
    return {Kind::kPut, std::move(key), std::move(value), {}, 0};
  }
  static Op Delete(std::string key) { return {Kind::kDelete, std::move(key), {}, {}, 0}; }
  static Op DeletePrefix(std::string prefix) {
    return {Kind::kDeletePrefix, std::move(prefix), {}, {}, 0};
  }
  static Op Get(std::string key) { return {Kind::kGet, std::move(key), {}, {}, 0}; }
  static Op List(std::string prefix, int64_t limit = 0, std::string start_after = {}) {
    return {Kind::kList, std::move(prefix), {}, std::move(start_after), limit};
  }
};

struct TxnRequest {
  std::vector<Compare> compares;
  std::vector<Op> ops;  // applied in order, only when every compare holds
};

struct TxnResult {
  bool succeeded = false;
  // The store revision after the txn: the new one when it wrote, else the
  // current one (what the reads saw).
  int64_t revision = 0;
  // One entry per read op (kGet, kList) in op order; a kGet of a missing key
  // gives an empty vector. Empty when the compares failed.
  std::vector<std::vector<KeyValue>> reads;
};

// How long a revision seen stays vouched for (KnownRevision).
inline constexpr std::chrono::milliseconds kKnownRevisionFor{1000};

class Store {
 public:
  virtual ~Store() = default;

  // Atomic compare-and-apply. A txn whose ops are all reads, or that fails
  // its compares, does not bump the revision.
  virtual Result<TxnResult> Txn(const TxnRequest& txn) = 0;

  // The current global revision (0 for an empty store).
  virtual Result<int64_t> Revision() = 0;

  // Blocks until Revision() > after_revision or `timeout` passes, and
  // returns the revision then (possibly still <= after_revision). Returns at
  // once when the store is already past it. Only writes made through this
  // Store object wake waiters (a multi-process backend implements this with
  // a watch).
  virtual Result<int64_t> WaitForRevision(int64_t after_revision,
                                          std::chrono::milliseconds timeout) = 0;
  // The revision as this object knows it without asking the backend, when
  // it can vouch for it, so that a reader can skip a round trip when
  // nothing changed. A store shared between processes (etcd) answers the
  // newest revision it has seen — from its own reads and writes, and from
  // its watch — when that was confirmed within kKnownRevisionFor (a write
  // made elsewhere shows after the watch's latency); nullopt otherwise.
  // Embedded stores answer nullopt: their reads are as cheap.
  virtual std::optional<int64_t> KnownRevision() { return std::nullopt; }

  // Conveniences over Txn.
  Result<std::optional<KeyValue>> Get(std::string_view key);
  Result<std::vector<KeyValue>> List(std::string_view prefix, int64_t limit = 0,
                                     std::string_view start_after = {});
  // Returns the new revision.
  Result<int64_t> Put(std::string_view key, std::string_view value);
  Result<int64_t> Delete(std::string_view key);
};

// One key, read again only when the store cannot vouch that nothing was
// written since the last read (Store::KnownRevision): for values checked
// on every tick of a long-poll (the manifest marker, the event sequence).
// On embedded stores every Get reads. Thread-safe; `store` outlives it.
class CachedKey {
 public:
  CachedKey(Store& store, std::string key) : store_(store), key_(std::move(key)) {}
  // The key as the store has it (nullopt: absent).
  Result<std::optional<KeyValue>> Get();

 private:
  Store& store_;
  const std::string key_;
  std::mutex mu_;
  int64_t read_at_ = -1;  // the store revision value_ was read at
  std::optional<KeyValue> value_;
};

// The first key after every key that starts with `prefix` (etcd's
// range_end for a prefix); empty when there is none (prefix all 0xff).
std::string PrefixEnd(std::string_view prefix);

// SQLite 3 in WAL mode with synchronous=FULL: a write that returned has
// reached the disk, so it survives kill -9 and power loss. Creates the
// parent directories of `path`. One connection behind a mutex: the control
// plane's write rate is far below what one connection sustains.
// Errors: Unavailable when the file cannot be created or opened, or is not
// an Aether store.
Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path);

// A volatile in-memory store with the same semantics, for tests.
std::unique_ptr<Store> NewMemoryStore();

}  // namespace aether::control
