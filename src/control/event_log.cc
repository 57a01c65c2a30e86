#include "control/event_log.h"

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>

#include "common/json_util.h"
#include "common/log.h"

namespace aether::control {
namespace {

constexpr std::string_view kPrefix = "events/";
constexpr std::string_view kSeqKey = "meta/event_seq";
// Pruning removes this many extra so that it runs once per batch, not on
// every append.
constexpr int64_t kPruneBatch = 100;
// Appends racing on other replicas (each takes the next id with a compare
// on meta/event_seq): this many lost races in a row is not contention any
// more but a broken store.
constexpr int kMaxAppendAttempts = 64;
constexpr int64_t kMaxPruneOps = 128;

std::string KeyOf(int64_t id) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%020lld", static_cast<long long>(id));
  return std::string(kPrefix) + buf;
}

Result<Event> Decode(const KeyValue& kv) {
  ASSIGN_OR_RETURN(boost::json::object o, ParseJsonObject(kv.value, "stored event"));
  Event e;
  ASSIGN_OR_RETURN(e.id, GetInt(o, "id"));
  ASSIGN_OR_RETURN(e.time, GetString(o, "time"));
  ASSIGN_OR_RETURN(e.type, GetString(o, "type"));
  ASSIGN_OR_RETURN(e.source, GetString(o, "source"));
  if (auto* d = o.if_contains("data")) e.data = ToJson(*d);
  return e;
}

}  // namespace

std::string NowRfc3339() { return Rfc3339(std::chrono::system_clock::now()); }

std::string Rfc3339(std::chrono::system_clock::time_point at) {
  std::time_t t = std::chrono::system_clock::to_time_t(at);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

EventLog::EventLog(Store& store, int64_t max_events, FencedStore* leader)
    : store_(store), max_events_(max_events), leader_(leader), seq_(store, std::string(kSeqKey)) {}

Result<std::unique_ptr<EventLog>> EventLog::Open(Store& store, int64_t max_events,
                                                 FencedStore* leader) {
  if (max_events < 1) return InvalidArgument("the event log must keep at least 1 event");
  std::unique_ptr<EventLog> log(new EventLog(store, max_events, leader));
  RETURN_IF_ERROR(log->ReadSeq());
  RETURN_IF_ERROR(log->ReadFirst());
  return log;
}

Status EventLog::ReadFirst() {
  ASSIGN_OR_RETURN(auto first, store_.List(kPrefix, 1));
  first_id_ = first.empty() ? last_id_ + 1
                            : std::strtoll(first[0].key.c_str() + kPrefix.size(), nullptr, 10);
  return OkStatus();
}

Status EventLog::ReadSeq() {
  ASSIGN_OR_RETURN(auto seq, store_.Get(kSeqKey));
  last_id_ = seq ? std::strtoll(seq->value.c_str(), nullptr, 10) : 0;
  seq_revision_ = seq ? seq->mod_revision : 0;
  return OkStatus();
}

Result<int64_t> EventLog::Append(std::string type, std::string source, std::string data) {
  ASSIGN_OR_RETURN(boost::json::value value, ParseJson(data));
  std::lock_guard lock(mu_);
  Event e{0, NowRfc3339(), std::move(type), std::move(source), std::move(data)};
  for (int attempt = 0; attempt < kMaxAppendAttempts; ++attempt) {
    e.id = last_id_ + 1;
    // The compare on meta/event_seq keeps ids unique when several replicas
    // append: one that lost the race reads the sequence again.
    TxnRequest txn;
    txn.compares.push_back(Compare::ModRevisionIs(std::string(kSeqKey), seq_revision_));
    txn.ops.push_back(
        Op::Put(KeyOf(e.id), ToJson(boost::json::object{{"id", e.id},
                                                        {"time", e.time},
                                                        {"type", e.type},
                                                        {"source", e.source},
                                                        {"data", value}})));
    txn.ops.push_back(Op::Put(std::string(kSeqKey), std::to_string(e.id)));
    ASSIGN_OR_RETURN(TxnResult r, store_.Txn(txn));
    if (!r.succeeded) {
      RETURN_IF_ERROR(ReadSeq());
      continue;
    }
    last_id_ = e.id;
    seq_revision_ = r.revision;
    if (last_id_ - first_id_ + 1 > max_events_ + kPruneBatch) {
      if (Status st = Prune(); !st.ok()) LOG_WARN("pruning events: {}", st.message());
    }
    return e.id;
  }
  return Unavailable("recording an event: meta/event_seq changed " +
                     std::to_string(kMaxAppendAttempts) + " times in a row while appending");
}

Status EventLog::Prune() {
  // Trimming is the leader's (leadership.h): a follower leaves it.
  if (leader_ != nullptr && !leader_->IsLeader()) return OkStatus();
  Store& store = leader_ != nullptr ? static_cast<Store&>(*leader_) : store_;
  // Another replica may have pruned since this one last looked.
  if (leader_ != nullptr) RETURN_IF_ERROR(ReadFirst());
  // etcd refuses a txn of more than 128 ops (its default --max-txn-ops).
  int64_t new_first = std::min(last_id_ - max_events_ + 1, first_id_ + kMaxPruneOps);
  if (new_first <= first_id_) return OkStatus();
  TxnRequest txn;
  for (int64_t id = first_id_; id < new_first; ++id) txn.ops.push_back(Op::Delete(KeyOf(id)));
  ASSIGN_OR_RETURN(TxnResult r, store.Txn(txn));
  first_id_ = new_first;
  return OkStatus();
}

Result<int64_t> EventLog::LastId() {
  ASSIGN_OR_RETURN(std::optional<KeyValue> seq, seq_.Get());
  return seq ? std::strtoll(seq->value.c_str(), nullptr, 10) : 0;
}

Result<EventPage> EventLog::List(int64_t since, const std::string& type, int64_t limit) {
  EventPage page;
  page.next = since;
  std::string after = since > 0 ? KeyOf(since) : std::string();
  // With a type filter, scan forward page by page; the log is bounded, so
  // the scan is too.
  constexpr int64_t kScanPage = 500;
  while (static_cast<int64_t>(page.events.size()) < limit) {
    ASSIGN_OR_RETURN(
        auto kvs,
        store_.List(kPrefix,
                    type.empty() ? limit - static_cast<int64_t>(page.events.size()) : kScanPage,
                    after));
    if (kvs.empty()) break;
    for (const KeyValue& kv : kvs) {
      after = kv.key;
      Result<Event> e = Decode(kv);
      if (!e.ok()) continue;  // unreadable entries are skipped, not fatal
      page.next = e->id;
      if (!type.empty() && e->type != type) continue;
      page.events.push_back(std::move(*e));
      if (static_cast<int64_t>(page.events.size()) >= limit) break;
    }
  }
  return page;
}

}  // namespace aether::control
