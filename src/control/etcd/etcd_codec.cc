#include "control/etcd/etcd_codec.h"

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>

#include "common/base64.h"

namespace aether::control::etcd {
namespace json = boost::json;
namespace {

std::string B64(std::string_view prefix, std::string_view key) {
  std::string full(prefix);
  full += key;
  return Base64Encode(full);
}

// The range of every key under `prefix` + `sub`. An empty full prefix is
// every key, which etcd writes as range_end "\0".
json::object PrefixRange(std::string_view prefix, std::string_view sub) {
  std::string full(prefix);
  full += sub;
  std::string end = PrefixEnd(full);
  if (end.empty()) end.assign(1, '\0');
  return {{"key", Base64Encode(full)}, {"range_end", Base64Encode(end)}};
}

json::object EncodeOp(std::string_view prefix, const Op& op, int64_t lease) {
  switch (op.kind) {
    case Op::Kind::kPut: {
      json::object put{{"key", B64(prefix, op.key)}, {"value", Base64Encode(op.value)}};
      if (lease > 0) put["lease"] = std::to_string(lease);
      return {{"request_put", std::move(put)}};
    }
    case Op::Kind::kDelete:
      return {{"request_delete_range", {{"key", B64(prefix, op.key)}}}};
    case Op::Kind::kDeletePrefix:
      return {{"request_delete_range", PrefixRange(prefix, op.key)}};
    case Op::Kind::kGet:
      return {{"request_range", {{"key", B64(prefix, op.key)}}}};
    case Op::Kind::kList: {
      json::object range = PrefixRange(prefix, op.key);
      if (!op.start_after.empty()) {
        // The first key after start_after (when that is past the prefix's start).
        std::string from(prefix);
        from += op.start_after;
        from.push_back('\0');
        std::string first(prefix);
        first += op.key;
        range["key"] = Base64Encode(std::max(from, first));
      }
      if (op.limit > 0) range["limit"] = std::to_string(op.limit);
      return {{"request_range", std::move(range)}};
    }
  }
  return {};
}

json::object EncodeCompare(std::string_view prefix, const Compare& c) {
  if (c.kind == Compare::Kind::kExists) {
    // A key exists when it was created at some revision.
    return {{"key", B64(prefix, c.key)},
            {"target", "CREATE"},
            {"result", "GREATER"},
            {"create_revision", "0"}};
  }
  // A missing key's mod revision is 0 in etcd too.
  return {{"key", B64(prefix, c.key)},
          {"target", "MOD"},
          {"result", "EQUAL"},
          {"mod_revision", std::to_string(c.mod_revision)}};
}

Result<json::value> Parse(std::string_view body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return Internal("etcd: an answer that is not a JSON object");
  return v;
}

// The gateway writes int64s as strings; an absent field is 0.
Result<int64_t> Int(const json::object& o, std::string_view field) {
  const json::value* v = o.if_contains(field);
  if (v == nullptr) return 0;
  if (v->is_int64()) return v->as_int64();
  if (!v->is_string()) return Internal("etcd: field " + std::string(field) + " is not a number");
  const json::string& s = v->as_string();
  int64_t out = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec != std::errc() || end != s.data() + s.size()) {
    return Internal("etcd: field " + std::string(field) + " is not a number");
  }
  return out;
}

Result<std::string> Bytes(const json::object& o, std::string_view field) {
  const json::value* v = o.if_contains(field);
  if (v == nullptr) return std::string();
  if (!v->is_string()) return Internal("etcd: field " + std::string(field) + " is not a string");
  Result<std::string> out = Base64Decode(v->as_string());
  if (!out.ok())
    return Internal("etcd: field " + std::string(field) + ": " + out.status().message());
  return out;
}

const json::object* Object(const json::object& o, std::string_view field) {
  const json::value* v = o.if_contains(field);
  return v != nullptr && v->is_object() ? &v->as_object() : nullptr;
}

const json::array* Array(const json::object& o, std::string_view field) {
  const json::value* v = o.if_contains(field);
  return v != nullptr && v->is_array() ? &v->as_array() : nullptr;
}

Result<int64_t> HeaderRevision(const json::object& o) {
  const json::object* header = Object(o, "header");
  if (header == nullptr) return Internal("etcd: an answer without a header");
  return Int(*header, "revision");
}

Result<std::vector<KeyValue>> DecodeKvs(std::string_view prefix, const json::object& range) {
  std::vector<KeyValue> out;
  const json::array* kvs = Array(range, "kvs");
  if (kvs == nullptr) return out;
  out.reserve(kvs->size());
  for (const json::value& item : *kvs) {
    if (!item.is_object()) return Internal("etcd: a key-value that is not an object");
    const json::object& kv = item.as_object();
    KeyValue k;
    ASSIGN_OR_RETURN(k.key, Bytes(kv, "key"));
    if (!k.key.starts_with(prefix)) return Internal("etcd: a key outside the store's prefix");
    k.key.erase(0, prefix.size());
    ASSIGN_OR_RETURN(k.value, Bytes(kv, "value"));
    ASSIGN_OR_RETURN(k.create_revision, Int(kv, "create_revision"));
    ASSIGN_OR_RETURN(k.mod_revision, Int(kv, "mod_revision"));
    out.push_back(std::move(k));
  }
  return out;
}

}  // namespace

std::string EncodeTxn(std::string_view prefix, const TxnRequest& txn, int64_t lease) {
  json::array compares;
  for (const Compare& c : txn.compares) compares.push_back(EncodeCompare(prefix, c));
  json::array ops;
  for (const Op& op : txn.ops) ops.push_back(EncodeOp(prefix, op, lease));
  return json::serialize(
      json::object{{"compare", std::move(compares)}, {"success", std::move(ops)}});
}

Result<TxnResult> DecodeTxn(std::string_view prefix, const TxnRequest& txn, std::string_view body) {
  ASSIGN_OR_RETURN(json::value v, Parse(body));
  const json::object& o = v.as_object();
  TxnResult result;
  ASSIGN_OR_RETURN(result.revision, HeaderRevision(o));
  const json::value* succeeded = o.if_contains("succeeded");
  result.succeeded = succeeded != nullptr && succeeded->is_bool() && succeeded->as_bool();
  if (!result.succeeded) return result;
  const json::array* responses = Array(o, "responses");
  size_t count = responses == nullptr ? 0 : responses->size();
  if (count != txn.ops.size()) return Internal("etcd: a txn answer with another number of ops");
  for (size_t i = 0; i < count; ++i) {
    Op::Kind kind = txn.ops[i].kind;
    if (kind != Op::Kind::kGet && kind != Op::Kind::kList) continue;
    const json::value& r = (*responses)[i];
    const json::object* range = r.is_object() ? Object(r.as_object(), "response_range") : nullptr;
    if (range == nullptr) return Internal("etcd: a read without a range answer");
    ASSIGN_OR_RETURN(std::vector<KeyValue> kvs, DecodeKvs(prefix, *range));
    result.reads.push_back(std::move(kvs));
  }
  return result;
}

std::string EncodeRevisionRequest(std::string_view prefix) {
  return json::serialize(json::object{{"key", B64(prefix, "")}, {"count_only", true}});
}

Result<int64_t> DecodeHeaderRevision(std::string_view body) {
  ASSIGN_OR_RETURN(json::value v, Parse(body));
  return HeaderRevision(v.as_object());
}

std::string EncodeWatch(std::string_view prefix, int64_t start_revision) {
  json::object create = PrefixRange(prefix, "");
  create["start_revision"] = std::to_string(start_revision);
  return json::serialize(json::object{{"create_request", std::move(create)}});
}

Result<WatchMessage> DecodeWatchMessage(std::string_view line) {
  ASSIGN_OR_RETURN(json::value v, Parse(line));
  WatchMessage m;
  const json::object* result = Object(v.as_object(), "result");
  if (result == nullptr) {
    // A stream-level error: {"error": {"grpc_code", "message", ...}}.
    const json::object* error = Object(v.as_object(), "error");
    if (error == nullptr) return Internal("etcd: a watch message without result or error");
    const json::value* message = error->if_contains("message");
    m.canceled = true;
    m.error = message != nullptr && message->is_string() ? std::string(message->as_string())
                                                         : json::serialize(*error);
    return m;
  }
  if (const json::object* header = Object(*result, "header")) {
    ASSIGN_OR_RETURN(m.revision, Int(*header, "revision"));
  }
  if (const json::array* events = Array(*result, "events")) {
    for (const json::value& e : *events) {
      const json::object* kv = e.is_object() ? Object(e.as_object(), "kv") : nullptr;
      if (kv == nullptr) continue;
      ASSIGN_OR_RETURN(int64_t rev, Int(*kv, "mod_revision"));
      m.revision = std::max(m.revision, rev);
    }
  }
  const json::value* canceled = result->if_contains("canceled");
  m.canceled = canceled != nullptr && canceled->is_bool() && canceled->as_bool();
  ASSIGN_OR_RETURN(m.compact_revision, Int(*result, "compact_revision"));
  if (const json::value* reason = result->if_contains("cancel_reason");
      reason != nullptr && reason->is_string()) {
    m.error = std::string(reason->as_string());
  }
  return m;
}

std::string EncodeLeaseGrant(int64_t ttl_seconds) {
  return json::serialize(json::object{{"TTL", std::to_string(ttl_seconds)}});
}

std::string EncodeLeaseId(int64_t id) {
  return json::serialize(json::object{{"ID", std::to_string(id)}});
}

Result<Lease> DecodeLease(std::string_view body) {
  ASSIGN_OR_RETURN(json::value v, Parse(body));
  const json::object* o = &v.as_object();
  if (const json::object* result = Object(*o, "result")) o = result;
  if (!o->contains("ID")) return Internal("etcd: a lease answer without an ID");
  Lease lease;
  ASSIGN_OR_RETURN(lease.id, Int(*o, "ID"));
  ASSIGN_OR_RETURN(lease.ttl, Int(*o, "TTL"));
  return lease;
}

std::string EncodeAuthenticate(std::string_view user, std::string_view password) {
  return json::serialize(json::object{{"name", user}, {"password", password}});
}

Result<std::string> DecodeAuthToken(std::string_view body) {
  ASSIGN_OR_RETURN(json::value v, Parse(body));
  const json::value* token = v.as_object().if_contains("token");
  if (token == nullptr || !token->is_string() || token->as_string().empty()) {
    return Internal("etcd: an authenticate answer without a token");
  }
  return std::string(token->as_string());
}

Status ErrorFromAnswer(int http_status, std::string_view body) {
  std::string message;
  int64_t code = -1;
  if (Result<json::value> v = Parse(body); v.ok()) {
    const json::object& o = v->as_object();
    if (const json::value* m = o.if_contains("message"); m != nullptr && m->is_string()) {
      message = std::string(m->as_string());
    } else if (const json::value* e = o.if_contains("error"); e != nullptr && e->is_string()) {
      message = std::string(e->as_string());
    }
    if (Result<int64_t> c = Int(o, "code"); c.ok() && o.contains("code")) code = *c;
  }
  if (message.empty()) {
    message = "HTTP " + std::to_string(http_status) + " " + std::string(body.substr(0, 200));
  }
  std::string what = "etcd: " + message;
  // etcd answers bad credentials with code 3 (invalid argument) and a
  // missing token with 2: both are the credentials' fault, not the request's.
  for (const char* auth : {"authentication failed", "user name is empty", "invalid auth token",
                           "user name not found"}) {
    if (message.find(auth) != std::string::npos) return Unauthenticated(what);
  }
  // gRPC codes: 3 invalid argument, 4 deadline exceeded, 14 unavailable,
  // 16 unauthenticated, 7 permission denied, 11 out of range (a request
  // too large), 8 resource exhausted.
  switch (code) {
    case 3:
    case 11:
      return InvalidArgument(what);
    case 4:
    case 14:
      return Unavailable(what);
    case 7:
      return PermissionDenied(what);
    case 8:
      return ResourceExhausted(what);
    case 16:
      return Unauthenticated(what);
    default:
      break;
  }
  // etcd reports "no leader", "request timed out" and the like with code 2
  // (unknown) from some paths: they pass, so the caller may retry.
  if (message.find("no leader") != std::string::npos ||
      message.find("timed out") != std::string::npos ||
      message.find("leader changed") != std::string::npos || http_status >= 502) {
    return Unavailable(what);
  }
  return Internal(what);
}

}  // namespace aether::control::etcd
