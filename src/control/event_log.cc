#include "control/event_log.h"

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

Result<std::unique_ptr<EventLog>> EventLog::Open(Store& store, int64_t max_events) {
  if (max_events < 1) return InvalidArgument("the event log must keep at least 1 event");
  std::unique_ptr<EventLog> log(new EventLog(store, max_events));
  ASSIGN_OR_RETURN(auto seq, store.Get(kSeqKey));
  if (seq) log->last_id_ = std::strtoll(seq->value.c_str(), nullptr, 10);
  ASSIGN_OR_RETURN(auto first, store.List(kPrefix, 1));
  log->first_id_ = first.empty() ? log->last_id_ + 1
                                 : std::strtoll(first[0].key.c_str() + kPrefix.size(), nullptr, 10);
  return log;
}

Result<int64_t> EventLog::Append(std::string type, std::string source, std::string data) {
  ASSIGN_OR_RETURN(boost::json::value value, ParseJson(data));
  std::lock_guard lock(mu_);
  Event e{last_id_ + 1, NowRfc3339(), std::move(type), std::move(source), std::move(data)};
  TxnRequest txn;
  txn.ops.push_back(
      Op::Put(KeyOf(e.id), ToJson(boost::json::object{{"id", e.id},
                                                      {"time", e.time},
                                                      {"type", e.type},
                                                      {"source", e.source},
                                                      {"data", std::move(value)}})));
  txn.ops.push_back(Op::Put(std::string(kSeqKey), std::to_string(e.id)));
  ASSIGN_OR_RETURN(TxnResult r, store_.Txn(txn));
  last_id_ = e.id;
  if (last_id_ - first_id_ + 1 > max_events_ + kPruneBatch) {
    if (Status st = Prune(); !st.ok()) LOG_WARN("pruning events: {}", st.message());
  }
  return e.id;
}

Status EventLog::Prune() {
  int64_t new_first = last_id_ - max_events_ + 1;
  TxnRequest txn;
  for (int64_t id = first_id_; id < new_first; ++id) txn.ops.push_back(Op::Delete(KeyOf(id)));
  ASSIGN_OR_RETURN(TxnResult r, store_.Txn(txn));
  first_id_ = new_first;
  return OkStatus();
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
