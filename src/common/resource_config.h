// The built-in workflow resource classes and their `configurations`.
// Shared by the control plane (validates a spec before accepting it) and the
// engine (parses the same map when it creates the resource), so both agree
// on every key, default and bound. Pure functions: any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/ip_address.h"
#include "common/result.h"

namespace aether {

// A resource's `configurations`: string keys to string values (numbers and
// booleans in a spec are converted to their JSON text before they get here).
using ResourceConfigMap = std::map<std::string, std::string>;

// "file-log", "file-pusher", "http-egress", "http-ingress", "http-poster",
// "kv", "redis", "sqlx", "timer", sorted.
const std::vector<std::string>& KnownResourceClasses();
// The configuration keys a class reads, sorted (empty for an unknown class).
const std::vector<std::string>& ConfigKeys(std::string_view class_type);

// Numbers are whole decimal numbers ("1000"; not "1e3", "+5" or "0x10").
//
// EDGELESS compatibility: its workflow files use http-ingress "host" (it
// routes by Host header; Aether routes by path, so "host" is checked and
// otherwise ignored), file-log "add-timestamp", and redis URLs ending in
// '/'; all are accepted so those files apply unchanged. EDGELESS's
// http-egress needs no "allow"; Aether's does.

// http-ingress: an engine route /wf/{workflow}/{path} turning a request into
// an event to the resource's single mapped output.
struct HttpIngressConfig {
  std::string path;  // "path", default: the component name; [a-z0-9_-] segments joined by '/'
  // "mode": "call" (default; reply = response body) or "cast" (202 at once);
  // or EDGELESS's "async": "true" (cast) or "false" (call).
  bool call = true;
  // "methods": comma list, default "POST,PUT"; upper-case. EDGELESS's
  // "method" is the same list, where "" allows every method.
  std::vector<std::string> methods;
  // "format": "raw" (default: the event is the request's body, the reply
  // the response's) or "edgeless": a call carries EDGELESS's HTTP request
  // JSON and expects its HTTP response JSON back, a cast is answered 200
  // "OK" (workflow/edgeless_http.h). A cluster or domain control plane sets
  // it for the http-ingress of an EDGELESS-shaped spec that does not.
  bool edgeless = false;
  // EDGELESS's "encode_base64" ("true"/"false", default false): a cast
  // carries the body base64-encoded. EDGELESS's "wf_id" is checked and has
  // no effect: the path names the workflow.
  bool encode_base64 = false;
  std::chrono::milliseconds timeout{5000};                // "timeout_ms" for mode call, 1..60000
  std::string content_type = "application/octet-stream";  // "content_type" of the replies
  // "mode": "portal" — the receiving end of a link between domains
  // (docs/domains.md): takes batches of casts and calls from a `portal`
  // resource in another domain, only with the token whose SHA-256 is
  // "token_sha256" (64 lower-case hex digits, required in this mode, refused
  // in the others). `call` is false; `timeout` caps the callers' remaining
  // timeouts. Only a cluster controller writes this mode (IsPortalOnly).
  bool portal = false;
  std::string token_sha256;
};

// portal: the sending end of a link between domains, which a cluster
// controller adds to a domain's part of a workflow for each component of
// another domain that components here send to (docs/domains.md). Casts are
// queued and posted in batches, calls posted one by one with their
// remaining timeout, to the http-ingress in portal mode of the other domain.
inline constexpr std::string_view kPortalClass = "portal";
struct PortalConfig {
  std::string url;               // "url" (required): http(s)://host[:port]/wf/{workflow}/{path}
  std::string token;             // "token" (required): 64 lower-case hex digits
  uint64_t queue_length = 4096;  // "queue_length", 1..1000000: casts waiting for the link
  uint64_t batch_events = 256;   // "batch_events", 1..4096: casts per request at most
  std::chrono::milliseconds timeout{60000};  // "timeout_ms", 1..60000: a batch's request
};
Result<PortalConfig> ParsePortalConfig(const ResourceConfigMap& c);

// Whether a resource of that class and configuration is one only a cluster
// controller may write (a portal, or an http-ingress in portal mode or on a
// path under "_portal"): a workflow spec from a user that has one is
// refused, as a portal would be an egress to any address.
bool IsPortalOnly(std::string_view class_type, const ResourceConfigMap& c);

// One entry of http-egress's "allow" list. Without a port an entry allows
// the scheme's default port only (80 / 443).
//   name, name:port              a DNS name; what it resolves to must be public
//   1.2.3.4, 1.2.3.4:port        an IPv4 address, in the standard spelling
//   [2001:db8::1], [...]:port    an IPv6 address
//   10.0.0.0/8, 10.0.0.0/8:port  a CIDR range: IP URLs inside it, and names of
//   [fd00::/8], [fd00::/8]:port  the list resolving into it (not metadata)
// Only address and range entries let a request reach a loopback, private,
// link-local or other non-public address; only an address entry a cloud
// metadata address (workflow/resources/egress_policy.h).
struct EgressAllowEntry {
  enum class Kind { kName, kAddress, kNetwork };
  Kind kind = Kind::kName;
  std::string name;              // kName: lower case
  IpNetwork network;             // kAddress: the address (IPv4-mapped as IPv4), full-length prefix
  uint16_t port = 0;             // 0 = the scheme's default port
  std::string ToString() const;  // the normalized entry: "10.0.0.0/8:8080", "[::1]"
};
// InvalidArgument naming what is wrong: a URL, a bad port, an IPv6 address
// without brackets, a host with bits set in a range, an IPv4 address in an
// unusual spelling ("0x7f.1": write 127.0.0.1).
Result<EgressAllowEntry> ParseEgressAllowEntry(std::string_view text);

// http-egress: outbound HTTP. The payload is a JSON request
// {"method"?, "url", "headers"?, "body"?} or a bare URL (GET).
struct HttpEgressConfig {
  // "allow": comma list of EgressAllowEntry, normalized. Absent (as in
  // EDGELESS's files): the engine's [workflow] egress_default decides —
  // any public address, or nothing.
  std::vector<std::string> allow;
  bool node_policy = false;  // no "allow" given
  // "format": "raw" (default: Aether's request JSON or a URL; a call's
  // reply is a 2xx body) or "edgeless": a call carries EDGELESS's HTTP
  // request JSON and is answered its HTTP response JSON, whatever the
  // status (workflow/edgeless_http.h). Set by the control plane for the
  // http-egress of an EDGELESS-shaped spec that does not say.
  bool edgeless = false;
  std::chrono::milliseconds timeout{5000};  // "timeout_ms", 1..60000
  uint64_t max_response = 1u << 20;         // "max_response_bytes", 1..16 MiB
};

// file-log: appends each payload as one line to a file under the node's data dir.
struct FileLogConfig {
  std::string filename;  // "filename", default "<component>.log"; [A-Za-z0-9._-], no leading '.'
  uint64_t max_bytes =
      64ull << 20;  // "max_bytes", 1 KiB..1 TiB: the file is rotated to <name>.1 beyond this
  bool add_timestamp = false;  // "add-timestamp" (EDGELESS's key): "true" or "false"
  // "add-source-id" (EDGELESS's key): each line starts with the sending
  // component's name (after the timestamp).
  bool add_source_id = false;
};

// kv: a small in-memory key-value store the functions call.
struct KvConfig {
  uint64_t max_keys = 10000;         // "max_keys", 1..1000000
  uint64_t max_value_bytes = 65536;  // "max_value_bytes", 1..1 MiB
  // "storage": "memory" (default: per instance, lost when it stops or
  // moves) or "durable" (a NATS JetStream Key-Value bucket: needs the
  // engine's [nats] section).
  bool durable = false;
};

// A Redis key: the configured one, or the payload of a GET call.
inline constexpr size_t kMaxRedisKeyBytes = 512;

// redis: writes every payload to a key of a Redis server (SET, or RPUSH);
// with "call": "get", a call reads a key instead.
struct RedisConfig {
  std::string host = "127.0.0.1";  // "url" = redis://host:port (default redis://127.0.0.1:6379)
  uint16_t port = 6379;
  std::string key;     // "key" (required unless call_get: casts then fail, reported)
  bool rpush = false;  // "mode": "set" (default) or "rpush"
  // "call": "write" (default: a call writes as a cast does and answers
  // Redis's reply) or "get" (EDGELESS's meaning: a call's payload is a key,
  // GET answers its value; the control plane sets it for EDGELESS-shaped
  // specs).
  bool call_get = false;
  // "add-workflow-id" (EDGELESS's key): the key is "<workflow id>:<key>".
  bool add_workflow_id = false;
};

// sqlx (EDGELESS's): one SQL statement per event on a database
// (workflow/resources/sqlx.h). Exactly one of "url" and "database".
struct SqlxConfig {
  enum class Backend { kSqlite, kPostgres };
  Backend backend = Backend::kSqlite;
  // SQLite: "url" sqlite://NAME or sqlite:NAME, a file of the workflow's
  // own (<data_dir>/workflows/<workflow>/sqlx/NAME): NAME is 1 to 128 of
  // [A-Za-z0-9._-], not starting with '.'. sqlite::memory: (memory =
  // true): a database of this instance, lost when it stops.
  std::string sqlite_name;
  bool memory = false;
  // PostgreSQL: "url" postgres:// or postgresql:// (no password), which
  // must equal the url of one of the engine's [[workflow.sql]]; or
  // "database": the name of one (Aether's key). One of the two is set.
  std::string postgres_url;
  std::string database;
};

// A PostgreSQL URL that may be written in a config or spec:
// postgres:// or postgresql://, at most 2048 printable characters without
// spaces, and no password (user:password@ or ?password=...): secrets go in
// [[workflow.sql]] password_file. InvalidArgument saying which.
Status CheckPostgresUrl(std::string_view url);
// A [[workflow.sql]] name (a spec's sqlx "database"): 1 to 64 of
// [a-z0-9_-]. InvalidArgument otherwise.
Status ValidateSqlDatabaseName(std::string_view name);

// timer: casts `payload` to its outputs every period.
struct TimerConfig {
  std::chrono::milliseconds period{1000};  // "period_ms" (required), 10..86400000
  std::string payload;                     // "payload", default ""
};

// http-poster (EDGELESS's): POSTs every cast's payload to one URL; the
// answer is dropped, a failure reported (workflow/resources/http_poster.h).
struct HttpPosterConfig {
  // "url" (required): http:// or https://, without credentials. The host
  // and port must pass the allow list (checked when the resource is created).
  std::string url;
  // "decode_base64" (EDGELESS's key, "true"/"false"): the payload is
  // base64, posted decoded.
  bool decode_base64 = false;
  // "allow": as HttpEgressConfig's (the same EgressPolicy); absent: the
  // engine's [workflow] egress_default decides.
  std::vector<std::string> allow;
  bool node_policy = false;                 // no "allow" given
  std::chrono::milliseconds timeout{5000};  // "timeout_ms", 1..60000
};

// file-pusher (EDGELESS's): casts the files of the engine's
// <data_dir>/file-pusher, one per period in name order, round-robin, to the
// output "out" (workflow/resources/file_pusher.h). The directory is the
// operator's: a workflow cannot name one.
struct FilePusherConfig {
  std::chrono::milliseconds period{1000};  // "period-ms" (EDGELESS's key), 1..86400000
  bool encode_base64 = false;              // "encode-base64": "true"/"false"
};

// Each parser rejects unknown keys (the message lists the known ones) and
// out-of-range values with InvalidArgument: "<key>: <what is wrong>". The
// caller prefixes the path of the configurations object.
Result<HttpIngressConfig> ParseHttpIngressConfig(const ResourceConfigMap& c,
                                                 std::string_view component);
Result<HttpEgressConfig> ParseHttpEgressConfig(const ResourceConfigMap& c);
Result<FileLogConfig> ParseFileLogConfig(const ResourceConfigMap& c, std::string_view component);
Result<KvConfig> ParseKvConfig(const ResourceConfigMap& c);
Result<RedisConfig> ParseRedisConfig(const ResourceConfigMap& c);
Result<TimerConfig> ParseTimerConfig(const ResourceConfigMap& c);
Result<HttpPosterConfig> ParseHttpPosterConfig(const ResourceConfigMap& c);
Result<FilePusherConfig> ParseFilePusherConfig(const ResourceConfigMap& c);
Result<SqlxConfig> ParseSqlxConfig(const ResourceConfigMap& c);

// Dispatches on `class_type`; InvalidArgument listing the known classes for
// an unknown one.
Status ValidateResourceConfig(std::string_view class_type, const ResourceConfigMap& c,
                              std::string_view component);

}  // namespace aether
