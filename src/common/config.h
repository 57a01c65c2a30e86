// Configuration of every Aether process, read from TOML. Every key has a
// default, so a missing file section or key is never an error; an unknown
// key or a value of the wrong type is, naming the key.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/limits.h"
#include "common/result.h"

namespace aether {

struct RuntimeConfig {
  std::chrono::nanoseconds exec_timeout = kDefaultExecTimeout;
  uint64_t memory_limit = kDefaultMemoryLimit;
  size_t cache_size = 100;                  // loaded modules kept in memory
  uint64_t cache_disk_limit = 1ull << 30;   // on-disk compiled modules; 0 = unbounded
  std::string functions_dir;                // engine: serve NAME.wasm from here
  std::string data_dir = ".aether/engine";  // compiled-module cache and node state
  size_t workers = 0;                       // executor threads; 0 = one per core
  size_t queue_length = 0;                  // pending executions; 0 = 64 per worker
  // A function whose recent executions all took under half of this runs on
  // the HTTP IO thread, without a hand-off to a worker; one that runs past
  // it there is stopped and run again on a worker. 0 = always a worker.
  std::chrono::nanoseconds inline_budget = std::chrono::milliseconds(1);
  uint64_t max_input = 1ull << 20;          // /execute input bytes
  uint64_t max_output = kDefaultMaxOutput;  // captured stdout/stderr per execution
  bool optimize = true;                     // background optimized tier (cc -O2)
  std::string cc = "cc";                    // optimizing compiler
  // What an untrusted module may ask of the compilers (wasm/module_limits.h
  // has the same defaults and says why); over a limit, the module is refused.
  uint64_t max_functions = 100'000;
  uint64_t max_function_locals = 50'000;
  uint64_t max_module_locals = 2'000'000;
  uint64_t max_function_size = 2ull << 20;  // bytes of one function body
  uint64_t max_code_size = 64ull << 20;     // bytes of the code section
  // The confined compiler process: wall clock per job, address space.
  std::chrono::nanoseconds compile_timeout = std::chrono::seconds(60);
  uint64_t compile_memory_limit = 2ull << 30;
  // Control plane, at deploy: larger modules get 413, more or larger env
  // variables 400.
  uint64_t max_module_size = 64ull << 20;
  size_t max_env_vars = 256;
  uint64_t max_env_size = 64 << 10;  // keys + values, all variables together
};

struct ServerConfig {
  std::string host = "127.0.0.1";
  int port = -1;                   // -1 = the process's default (9090 / 9091); 0 = a free port
  uint64_t max_body = 4ull << 20;  // request bodies above this get 413
  std::chrono::nanoseconds idle_timeout = std::chrono::seconds(60);
  // Slow clients and floods; HttpServerOptions documents each.
  std::chrono::nanoseconds header_timeout = std::chrono::seconds(10);
  std::chrono::nanoseconds body_timeout = std::chrono::seconds(10);
  uint64_t min_body_rate = 16 << 10;  // bytes per second
  size_t max_connections = 10000;
  size_t max_connections_per_client = 256;  // 0 = no per-client cap
  // Threads that accept, parse and answer HTTP (and run short guests on the
  // engine); 0 = one per core, at least two.
  size_t io_threads = 0;
  std::string tls_cert;  // PEM paths; both set = HTTPS
  std::string tls_key;
  // Engine: the URL the control plane and other engines reach it at, sent
  // when it registers. Empty: the server's own URL. Set it when they reach
  // the engine through NAT, a proxy or a load balancer.
  std::string public_url;
};

struct DatabaseConfig {
  std::string path = ".aether/control/aether.db";
  int64_t max_events = 10000;  // events kept; older ones are pruned
  int64_t keep_versions = 20;  // versions kept per function; 0 = all
};

// The control plane's store (docs/operations.md, "etcd"): the embedded
// SQLite file of [database] path, or an etcd cluster. `password` is a
// secret: it may come from AETHER_ETCD_PASSWORD instead and is never logged.
struct StoreConfig {
  std::string backend = "sqlite";      // "sqlite" | "etcd"
  std::vector<std::string> endpoints;  // etcd: http://host:2379, ...
  std::string prefix = "/aether/";     // etcd: every key starts with it
  std::string username;                // etcd authentication, with password
  std::string password;
  std::chrono::nanoseconds request_timeout = std::chrono::seconds(5);
  // etcd over https://: a CA to trust (else the system store), and the
  // client certificate and key for an etcd that asks for one.
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
};

// The control plane's gateway (/api/invoke): `workers` forwards in flight
// at once (asynchronous: each holds a connection to an engine, no thread);
// more waiting than queue_length get 503 overloaded. Each engine gets at
// most max_connections_per_node kept-alive connections; a forward that
// finds them all busy waits for one.
struct GatewayConfig {
  size_t workers = 256;
  size_t queue_length = 1024;
  size_t max_connections_per_node = 64;
};

struct RegistryConfig {
  std::chrono::nanoseconds node_timeout = std::chrono::seconds(30);
  std::chrono::nanoseconds heartbeat_interval = std::chrono::seconds(5);
};

// The control plane's replicas on one etcd store (docs/operations.md,
// "Several replicas"): the leader holds a lease of lease_ttl (whole
// seconds; etcd grants none under 2 s), and replica_id names this replica
// in the election and /health — empty: generated once and kept in the data
// directory (REPLICA_ID).
inline constexpr std::chrono::seconds kMinLeaseTtl{2};
inline constexpr std::chrono::seconds kMaxLeaseTtl{300};
inline constexpr size_t kMaxReplicaIdLength = 63;
struct ClusterConfig {
  std::chrono::nanoseconds lease_ttl = std::chrono::seconds(5);
  std::string replica_id;  // [A-Za-z0-9][A-Za-z0-9._-]*, at most kMaxReplicaIdLength
  // The URL the other replicas reach this one at (artifact copies), checked
  // and without a trailing slash. Empty: the server's own URL.
  std::string advertise_url;
  // https:// replicas: the CA their certificates are checked against (else
  // the system store).
  std::string ca_file;
};
// Whether `id` is a valid replica id.
bool IsReplicaId(std::string_view id);

// Orchestration domains (docs/domains.md). `role`: "both" (one control
// plane over its own nodes, the default), "cluster" (the cluster
// controller: domains register with it, nodes do not) or "domain" (a
// domain orchestrator: today's control plane, which also registers with
// the controller at `controller` with `join_token` and heartbeats its
// capabilities).
inline constexpr std::string_view kRoleBoth = "both";
inline constexpr std::string_view kRoleCluster = "cluster";
inline constexpr std::string_view kRoleDomain = "domain";
struct DomainConfig {
  std::string role = std::string(kRoleBoth);
  // role = "domain":
  std::string id;                       // default: the host name
  std::vector<std::string> controller;  // the controller's URLs (its replicas), checked
  std::string join_token;       // the controller's domain join token; else AETHER_DOMAIN_JOIN_TOKEN
  std::string join_token_file;  // or a file holding it (secret_file.h)
  std::string url;              // where the controller reaches this domain (default: its own URL)
  std::map<std::string, std::string> labels;
  // role = "cluster": a domain silent for `timeout` is down; domains beat
  // every `heartbeat_interval`.
  std::chrono::nanoseconds timeout = std::chrono::seconds(15);
  std::chrono::nanoseconds heartbeat_interval = std::chrono::seconds(2);
};
// "both", "cluster" or "domain"; InvalidArgument naming them otherwise.
Status ValidateRole(std::string_view role);

struct ControlConfig {
  // Engine: join the control plane at these URLs (its replicas; the engine
  // fails over between them, common/endpoint_list.h) when set. From
  // `urls = [...]` or `url = "..."` (a list of one); checked and without
  // trailing slashes.
  std::vector<std::string> urls;
  std::string node_id;  // default: the host name
  std::map<std::string, std::string> labels;
  // A PEM CA the engine trusts for https:// URLs of the control plane and
  // of the other engines (a private CA); empty = the system's store.
  // aether-engine --ca-file and AETHER_CA_FILE override it.
  std::string ca_file;
  // Engine: compile the modules a control plane is deploying as soon as it
  // announces them (GET /node/prefetch), before their manifest arrives.
  bool prefetch = true;
};

// Configured tokens shorter than this are refused at startup: a short
// token can be guessed.
inline constexpr size_t kMinTokenLength = 16;

struct AuthConfig {
  std::string token;       // admin API bearer token; empty or >= kMinTokenLength
  std::string join_token;  // node registration token; empty or >= kMinTokenLength
  // The cluster controller's: admits new domains; empty or >= kMinTokenLength.
  std::string domain_join_token;
  // Files holding those tokens instead (at most one of a key and its _file);
  // LoadConfig reads them, and systemd credentials (common/secret_file.h).
  std::string token_file;
  std::string join_token_file;
  std::string domain_join_token_file;
};

// [[workflow.serverless]]: a resource class this engine provides, served by
// an OpenFaaS-style HTTP function (EDGELESS's serverless provider;
// workflow/resources/serverless.h). The engine advertises it as the label
// "resource-class.<class_type>" = version, which the control plane places by.
struct ServerlessClassConfig {
  std::string class_type;    // 1-63 of a-z 0-9 - _, starting with a letter; not a built-in class
  std::string version;       // informational, e.g. "0.1"
  std::string function_url;  // http:// or https://, no credentials
  std::chrono::nanoseconds timeout = std::chrono::seconds(30);  // one POST
};

// The label key of a serverless class on a node (and in a spec's placement).
std::string ServerlessClassLabel(std::string_view class_type);

// The engine's workflow runtime: how many events wait where, and the
// resources' timeouts. docs/configuration.md, "Limits in one table", says
// what happens past each.
// One [[workflow.sql]] table of the engine: a PostgreSQL database that
// sqlx resources may use (workflow/resources/sqlx.h). Workflows never name
// a server of their own: a spec's sqlx "database" (or "url") must match
// one of these, so guests reach only what the operator listed.
struct SqlDatabaseConfig {
  std::string name;  // [a-z0-9_-], 1..64, unique: a spec's "database"
  // postgresql://user@host:port/db (or postgres://); a password in it is
  // refused at load: put it in password_file.
  std::string url;
  std::string password_file;           // optional; read when the engine starts, never logged
  std::vector<std::string> workflows;  // workflow ids allowed; empty = every workflow
};

struct WorkflowConfig {
  size_t mailbox_length = kDefaultMailboxLength;                   // events per instance
  std::chrono::nanoseconds send_wait = kDefaultSendWait;           // a full mailbox holds a sender
  size_t dataplane_queue_length = kDefaultDataplaneQueueLength;    // events per peer node
  size_t dataplane_dedup_batches = kDefaultDataplaneDedupBatches;  // batches kept per sender
  std::chrono::nanoseconds dataplane_dedup_window = kDefaultDataplaneDedupWindow;  // ...this long
  std::chrono::nanoseconds redis_connect_timeout = kDefaultRedisConnectTimeout;
  std::chrono::nanoseconds redis_command_timeout = kDefaultRedisCommandTimeout;
  size_t redis_queue_length = kDefaultRedisQueueLength;             // casts per resource
  size_t http_egress_queue_length = kDefaultHttpEgressQueueLength;  // casts per resource
  size_t kv_queue_length = kDefaultKvQueueLength;  // commands per durable kv resource
  // sqlx resources: a statement's budget (casts, and PostgreSQL's
  // statement_timeout), a PostgreSQL connect attempt, a workflow's SQLite
  // file, queued statements per resource, and the PostgreSQL databases.
  std::chrono::nanoseconds sqlx_statement_timeout = kDefaultSqlxStatementTimeout;
  std::chrono::nanoseconds sqlx_connect_timeout = kDefaultSqlxConnectTimeout;
  uint64_t sqlx_max_database_bytes = kDefaultSqlxMaxDatabaseBytes;
  size_t sqlx_queue_length = kDefaultSqlxQueueLength;
  std::vector<SqlDatabaseConfig> sql;  // [[workflow.sql]]
  // What an http-egress without an "allow" list may reach: "public" (any
  // host whose addresses are all public: no loopback, private, link-local,
  // metadata...) or "none" (it may reach nothing; each needs a list).
  std::string egress_default = "public";
  std::vector<ServerlessClassConfig> serverless;  // [[workflow.serverless]]
  // Control plane: how a new workflow instance picks among the nodes that
  // may take it ("least-loaded", "round-robin", "weighted-random").
  std::string placement = "least-loaded";
};

// The engine's durable event log for at-least-once workflows: NATS
// JetStream (workflow/jetstream_log.h; docs/configuration.md, "[nats]").
// No urls: no log, so at-least-once workflows cannot run on this node.
// password and token are secrets: they may come from AETHER_NATS_PASSWORD
// and AETHER_NATS_TOKEN instead (engine/nats_options.h) and are never
// logged.
struct NatsConfig {
  std::vector<std::string> urls;  // nats://host:4222 or tls://host:4222
  std::string user;
  std::string password;
  std::string token;
  std::string ca_file;  // TLS: a CA to trust; client certificate and key
  std::string cert_file;
  std::string key_file;
  std::string prefix = std::string(kDefaultNatsPrefix);   // streams and subjects
  int replicas = kDefaultNatsReplicas;                    // of each stream, 1..5
  std::chrono::nanoseconds max_age = kDefaultNatsMaxAge;  // events older are dropped
  uint64_t max_bytes = kDefaultNatsMaxBytes;              // per stream; then appends fail
  std::chrono::nanoseconds dedup_window = kDefaultNatsDedupWindow;
  std::chrono::nanoseconds ack_wait = kDefaultNatsAckWait;
  int64_t max_deliver = kDefaultNatsMaxDeliver;
  int64_t max_ack_pending = kDefaultNatsMaxAckPending;          // per component
  int64_t max_pending_appends = kDefaultNatsMaxPendingAppends;  // per engine
  std::chrono::nanoseconds connect_timeout = kDefaultNatsConnectTimeout;
  // Deleted workflows' streams and buckets are swept this often.
  std::chrono::nanoseconds sweep_interval = kDefaultNatsSweepInterval;
};

struct LogConfig {
  std::string level = "info";  // trace, debug, info, warn, error
};

struct Config {
  RuntimeConfig runtime;
  ServerConfig server;
  DatabaseConfig database;
  StoreConfig store;
  ClusterConfig cluster;
  GatewayConfig gateway;
  RegistryConfig registry;
  ControlConfig control;
  DomainConfig domain;
  AuthConfig auth;
  WorkflowConfig workflow;
  NatsConfig nats;
  LogConfig log;
};

// Parses TOML text; `origin` names the file in error messages.
Result<Config> ParseConfig(std::string_view toml_text, std::string_view origin);
// Reads and parses a file (an empty path gives the defaults), then reads
// the tokens of [auth] *_file keys and systemd credentials
// ($CREDENTIALS_DIRECTORY; common/secret_file.h).
Result<Config> LoadConfig(const std::string& path);

// A commented TOML file with every key and its default, for `aether config
// template`. `role` is "engine", "control" or "cli".
Result<std::string> ConfigTemplate(std::string_view role);

// Every key ParseConfig knows, as "section.key" ("runtime.exec_timeout"),
// the arrays of tables among them ("workflow.sql") but not their keys. For
// the test that keeps the templates and the docs complete.
std::set<std::string> KnownConfigKeys();

}  // namespace aether
