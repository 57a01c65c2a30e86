// The JSON of etcd's v3 gateway (/v3/kv/txn, /v3/kv/range, /v3/watch,
// /v3/auth/authenticate) for the Store's requests and answers. Pure
// functions: keys get the store's prefix on the way out and lose it on the
// way back; int64s travel as strings, bytes as base64, as the gateway
// writes them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "control/store.h"

namespace aether::control::etcd {

// The body of POST /v3/kv/txn for `txn` under `prefix`; `lease` > 0 puts
// every key of the txn with that lease (the election's key).
std::string EncodeTxn(std::string_view prefix, const TxnRequest& txn, int64_t lease = 0);
// The answer to EncodeTxn's request: reads in op order, keys without the
// prefix. Internal for an answer that is not what etcd sends.
Result<TxnResult> DecodeTxn(std::string_view prefix, const TxnRequest& txn, std::string_view body);

// The body of POST /v3/kv/range that only asks for the revision.
std::string EncodeRevisionRequest(std::string_view prefix);
// header.revision of any answer.
Result<int64_t> DecodeHeaderRevision(std::string_view body);

// The body of POST /v3/watch: every key under `prefix`, from `start_revision`.
std::string EncodeWatch(std::string_view prefix, int64_t start_revision);

// One line of a watch stream.
struct WatchMessage {
  int64_t revision = 0;          // the newest revision it names (header or events)
  bool canceled = false;         // the watch ended (then see compact_revision / error)
  int64_t compact_revision = 0;  // > 0: start_revision was compacted away
  std::string error;             // a stream error etcd reported
};
Result<WatchMessage> DecodeWatchMessage(std::string_view line);

// Leases (/v3/lease/grant, /v3/lease/keepalive, /v3/lease/revoke).
struct Lease {
  int64_t id = 0;
  int64_t ttl = 0;  // seconds left; <= 0: the lease is gone (expired or revoked)
};
std::string EncodeLeaseGrant(int64_t ttl_seconds);
// The body of keepalive and revoke.
std::string EncodeLeaseId(int64_t id);
// A grant's answer, or a keepalive's (one stream line: {"result": {...}}).
// Internal for an answer without an ID.
Result<Lease> DecodeLease(std::string_view body);

std::string EncodeAuthenticate(std::string_view user, std::string_view password);
Result<std::string> DecodeAuthToken(std::string_view body);

// What an answer with a non-200 status means for the caller: the gateway's
// {"error", "code", "message"} (gRPC codes) as our codes — Unavailable for
// an etcd without a leader or quorum, timeouts and the like (retry later),
// Unauthenticated for a bad or expired token, InvalidArgument for what etcd
// refuses in a request (a value over its request size limit), Internal
// otherwise.
Status ErrorFromAnswer(int http_status, std::string_view body);

}  // namespace aether::control::etcd
